import { Redis } from "ioredis";
import type { Logger } from "pino";

/**
 * GCRA (a token bucket kept as one timestamp per key) evaluated inside Redis, so every API process
 * shares one budget per project and Redis's clock is the only clock. A fixed-window counter would let
 * a client send twice its limit across a window edge and cannot express "N per second, bursts of M".
 *
 * A call takes up to ARGV[3] requests at once (a lease, see LEASE_SHARE), as many as the bucket holds.
 * KEYS[1] bucket; ARGV[1] ms between requests at the sustained rate; ARGV[2] burst size; ARGV[3] wanted.
 * Returns { requests taken (0 when refused), ms until the next request would be allowed, requests left }.
 */
const GCRA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local interval = tonumber(ARGV[1])
local window = interval * tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local taken = math.min(tonumber(ARGV[3]), math.floor((now + window - tat) / interval))
if taken < 1 then
  return {0, math.ceil(tat + interval - window - now), 0}
end
local next_tat = tat + taken * interval
redis.call('SET', KEYS[1], tostring(next_tat), 'PX', math.ceil(next_tat - now) + 1)
return {taken, 0, math.floor((window - (next_tat - now)) / interval)}
`;

/**
 * A process takes this share of a second's budget (or of the burst, if smaller) from Redis at
 * once and spends it locally, so a busy key costs Redis a call per lease instead of one per
 * request; small limits (a share under one request) stay exact. Leased requests a process does
 * not use within LEASE_MS are lost to the key: with P API processes a key can be refused after
 * about (1 - P × LEASE_SHARE) of its budget at worst.
 */
const LEASE_SHARE = 1 / 20;
const LEASE_MS = 1_000;
const MAX_LEASES = 10_000;

export type RateDecision = { allowed: true; remaining: number } | { allowed: false; retryAfterMs: number };

export interface RateLimitStore {
  /** Takes one request from the key's budget. Null when Redis could not answer: the caller lets it through. */
  take(key: string, perSecond: number, burst: number): Promise<RateDecision | null>;
  close(): void;
}

/** A check must never make ingestion wait on a sick Redis: past this, the request goes through unchecked. */
const COMMAND_TIMEOUT_MS = 250;
/** One warning per interval while Redis is unavailable, with the number of requests let through. */
const WARN_INTERVAL_MS = 30_000;

type GcraRedis = Redis & { nurtureGcra(key: string, intervalMs: number, burst: number, wanted: number): Promise<[number, number, number]> };

interface Lease {
  left: number;
  until: number;
  /** Requests left in Redis's bucket when the lease was taken. */
  remaining: number;
}

export function createRateLimitStore(redisUrl: string, log: Logger): RateLimitStore {
  // Its own connection: no offline queue and no retries, so a dead Redis fails fast instead of
  // queueing checks; the shared producer connection has no command timeout.
  const redis = new Redis(redisUrl, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: COMMAND_TIMEOUT_MS,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
  }) as GcraRedis;
  redis.on("error", () => {});
  redis.defineCommand("nurtureGcra", { numberOfKeys: 1, lua: GCRA });

  let skipped = 0;
  let lastWarnAt = 0;
  const failOpen = (err: unknown) => {
    skipped++;
    const at = Date.now();
    if (at - lastWarnAt >= WARN_INTERVAL_MS) {
      log.warn({ err, skipped }, "rate limits not enforced: Redis unavailable (requests are let through)");
      lastWarnAt = at;
      skipped = 0;
    }
    return null;
  };

  const leases = new Map<string, Lease>();
  // One lease call per key at a time: requests arriving meanwhile wait for it instead of each asking Redis.
  const leasing = new Map<string, Promise<RateDecision | null>>();

  async function lease(key: string, perSecond: number, burst: number): Promise<RateDecision | null> {
    // Right after start-up the connection is still being made: wait for it as long as for a command.
    if (redis.status !== "ready") await whenReady(redis, COMMAND_TIMEOUT_MS);
    if (redis.status !== "ready") return failOpen(new Error(`Redis connection is ${redis.status}`));
    const wanted = Math.max(1, Math.floor(Math.min(perSecond, burst) * LEASE_SHARE));
    try {
      const [taken, retryAfterMs, remaining] = await redis.nurtureGcra(key, 1000 / perSecond, burst, wanted);
      if (taken === 0) return { allowed: false, retryAfterMs };
      if (taken > 1) {
        if (leases.size >= MAX_LEASES) leases.clear(); // many keys (most of them unknown ones): start over
        leases.set(key, { left: taken - 1, until: Date.now() + LEASE_MS, remaining });
      }
      return { allowed: true, remaining: remaining + taken - 1 };
    } catch (err) {
      return failOpen(err);
    }
  }

  function fromLease(key: string): RateDecision | undefined {
    const held = leases.get(key);
    if (!held) return undefined;
    if (held.until <= Date.now() || held.left <= 0) {
      leases.delete(key);
      return undefined;
    }
    held.left--;
    return { allowed: true, remaining: held.remaining + held.left };
  }

  return {
    async take(key, perSecond, burst) {
      for (;;) {
        const local = fromLease(key);
        if (local) return local;
        const pending = leasing.get(key);
        if (!pending) break;
        // A refusal (or Redis failing) answers every request that waited for it alike.
        const decision = await pending;
        if (decision === null) skipped++;
        if (decision === null || !decision.allowed) return decision;
      }
      const pending = lease(key, perSecond, burst).finally(() => leasing.delete(key));
      leasing.set(key, pending);
      return pending;
    },
    close: () => redis.disconnect(),
  };
}

function whenReady(redis: Redis, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      redis.off("ready", done);
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    redis.once("ready", done);
  });
}
