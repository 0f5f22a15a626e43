import { Redis } from "ioredis";
import type { Logger } from "pino";

/**
 * GCRA (a token bucket kept as one timestamp per key) evaluated inside Redis, so every API process
 * shares one budget per project and Redis's clock is the only clock. A fixed-window counter would let
 * a client send twice its limit across a window edge and cannot express "N per second, bursts of M".
 *
 * KEYS[1] bucket; ARGV[1] ms between requests at the sustained rate; ARGV[2] burst size.
 * Returns { allowed (1|0), ms until the next request would be allowed, requests left in the burst }.
 */
const GCRA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local interval = tonumber(ARGV[1])
local window = interval * tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local next_tat = tat + interval
if next_tat - now > window then
  return {0, math.ceil(next_tat - window - now), 0}
end
redis.call('SET', KEYS[1], tostring(next_tat), 'PX', math.ceil(next_tat - now) + 1)
return {1, 0, math.floor((window - (next_tat - now)) / interval)}
`;

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

type GcraRedis = Redis & { nurtureGcra(key: string, intervalMs: number, burst: number): Promise<[number, number, number]> };

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

  return {
    async take(key, perSecond, burst) {
      // Right after start-up the connection is still being made: wait for it as long as for a command.
      if (redis.status !== "ready") await whenReady(redis, COMMAND_TIMEOUT_MS);
      if (redis.status !== "ready") return failOpen(new Error(`Redis connection is ${redis.status}`));
      try {
        const [allowed, retryAfterMs, remaining] = await redis.nurtureGcra(key, 1000 / perSecond, burst);
        return allowed === 1 ? { allowed: true, remaining } : { allowed: false, retryAfterMs };
      } catch (err) {
        return failOpen(err);
      }
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
