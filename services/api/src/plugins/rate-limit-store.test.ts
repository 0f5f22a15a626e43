import { Redis } from "ioredis";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPrivateRedis, type PrivateRedis } from "../security/testing/private-redis";
import { createRateLimitStore, type RateLimitStore } from "./rate-limit-store";

describe("rate limit budgets shared through Redis", () => {
  let redisServer: PrivateRedis;
  let admin: Redis;
  const stores: RateLimitStore[] = [];
  const newStore = () => {
    const store = createRateLimitStore(redisServer.url, pino({ level: "silent" }));
    stores.push(store);
    return store;
  };
  const scriptCalls = async () => {
    const stats = await admin.info("commandstats");
    return [...stats.matchAll(/cmdstat_(?:evalsha|eval):calls=(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
  };

  beforeAll(async () => {
    redisServer = await startPrivateRedis();
    admin = new Redis(redisServer.url);
  });
  afterAll(async () => {
    for (const s of stores) s.close();
    admin.disconnect();
    await redisServer.kill();
  });

  it("lets a busy key spend its budget with a Redis call per lease, not per request, and refuses it at the end of its burst", async () => {
    const store = newStore();
    const before = await scriptCalls();
    // 40 per second, bursts of 40: leases of 2. The budget refills by one every 25 ms meanwhile.
    const started = Date.now();
    const decisions = await Promise.all(Array.from({ length: 60 }, () => store.take("busy", 40, 40)));
    const refills = Math.ceil(((Date.now() - started) * 40) / 1000);
    const allowed = decisions.filter((d) => d?.allowed).length;
    expect(allowed).toBeGreaterThanOrEqual(40);
    expect(allowed).toBeLessThanOrEqual(40 + refills + 2);
    const refused = decisions.find((d) => d && !d.allowed);
    expect(refused).toMatchObject({ allowed: false });
    expect((refused as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(0);
    expect(await scriptCalls()).toBeLessThanOrEqual(before + 25);
  });

  it("counts small limits exactly, one request at a time, across processes", async () => {
    const first = newStore();
    const second = newStore();
    for (let i = 0; i < 3; i++) expect(await first.take("small", 0.1, 3)).toMatchObject({ allowed: true, remaining: 2 - i });
    expect(await second.take("small", 0.1, 3)).toMatchObject({ allowed: false });
  });

  it("lets requests through when Redis does not answer", async () => {
    const store = newStore();
    await store.take("warm", 0.1, 3);
    redisServer.freeze();
    try {
      expect(await store.take("any", 0.1, 3)).toBeNull();
    } finally {
      redisServer.thaw();
    }
  });
});
