import { randomBytes } from "node:crypto";
import { buildApp } from "@nurture/api";
import { createProject, type CreatedProject } from "@nurture/backend";
import { loadConfig } from "@nurture/config";
import { createTestDatabase, type TestDatabase } from "@nurture/db/testing";
import { createQueues, createRedis, type Queues } from "@nurture/jobs";
import { createHarness, type Harness } from "@nurture/testkit";
import type { FastifyInstance } from "fastify";
import type { Redis } from "ioredis";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPrivateRedis, type PrivateRedis } from "./testing/private-redis";

const basic = (writeKey: string) => `Basic ${Buffer.from(`${writeKey}:`).toString("base64")}`;
const send = (app: FastifyInstance, project: CreatedProject, messageId: string, headers: Record<string, string> = {}) =>
  app.inject({
    method: "POST",
    url: "/v1/track",
    headers: { authorization: basic(project.writeKey), ...headers },
    payload: { anonymousId: "visitor", event: "clicked", messageId },
  });

describe("rate limits per write key", () => {
  let h: Harness;
  // One request every 10 s sustained, bursts of 5: the budget cannot refill while a test runs.
  beforeAll(async () => {
    h = await createHarness({ config: { RATE_LIMIT_PER_SECOND: "0.1", RATE_LIMIT_BURST: "5" } });
  });
  afterAll(async () => h.close());

  const useBurst = async (app: FastifyInstance, project: CreatedProject) => {
    for (let i = 0; i < 5; i++) expect((await send(app, project, `${project.id}-${i}`)).statusCode).toBe(200);
  };
  const storedIds = async (project: CreatedProject) =>
    (await h.db.selectFrom("events").select("message_id").where("project_id", "=", project.id).execute()).map((r) => r.message_id);

  it("answers 429 with Retry-After once a project has used its burst, and stores nothing for the refused request", async () => {
    const project = await h.newProject("noisy");
    await useBurst(h.app, project);

    const refused = await send(h.app, project, "one-too-many");
    expect(refused.statusCode).toBe(429);
    expect(refused.json().error.code).toBe("rate_limited");
    const retryAfter = Number(refused.headers["retry-after"]);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(10);
    expect(await storedIds(project)).not.toContain("one-too-many");
    expect(await storedIds(project)).toHaveLength(5);
  });

  it("lets browsers on the customer's site read Retry-After", async () => {
    const project = await h.newProject("browser");
    await useBurst(h.app, project);
    const refused = await send(h.app, project, "cors", { origin: "https://shop.example" });
    expect(refused.statusCode).toBe(429);
    expect(refused.headers["access-control-allow-origin"]).toBe("https://shop.example");
    expect(String(refused.headers["access-control-expose-headers"]).toLowerCase()).toContain("retry-after");
  });

  it("keeps one project's budget apart from another's", async () => {
    const noisy = await h.newProject("noisy-2");
    const quiet = await h.newProject("quiet");
    await useBurst(h.app, noisy);
    expect((await send(h.app, noisy, "noisy-more")).statusCode).toBe(429);
    expect((await send(h.app, quiet, "quiet-1")).statusCode).toBe(200);
  });

  it("shares each budget between all API processes", async () => {
    const second = await buildApp({ config: h.config, db: h.db, queues: h.queues, redis: h.redis, log: pino({ level: "silent" }), now: () => new Date() });
    try {
      const project = await h.newProject("two-processes");
      await useBurst(h.app, project);
      expect((await send(second, project, "via-second-process")).statusCode).toBe(429);
    } finally {
      await second.close();
    }
  });

  it("charges one budget per write key however the key is sent (header as Segment clients do, body as our tracker does)", async () => {
    const project = await h.newProject("tracker");
    for (let i = 0; i < 3; i++) expect((await send(h.app, project, `header-${i}`)).statusCode).toBe(200);
    const viaBody = (messageId: string) =>
      h.app.inject({
        method: "POST",
        url: "/v1/batch",
        headers: { "content-type": "text/plain" },
        payload: JSON.stringify({ writeKey: project.writeKey, batch: [{ type: "track", anonymousId: "visitor", event: "clicked", messageId }] }),
      });
    expect((await viaBody("body-1")).statusCode).toBe(200);
    expect((await viaBody("body-2")).statusCode).toBe(200);
    expect((await viaBody("body-3")).statusCode).toBe(429);
    expect((await send(h.app, project, "header-4")).statusCode).toBe(429);
  });

  it("does not limit the admin API", async () => {
    const project = await h.newProject("admin");
    await useBurst(h.app, project);
    const res = await h.app.inject({ method: "GET", url: "/v1/users", headers: { authorization: `Bearer ${project.secretKey}` } });
    expect(res.statusCode).toBe(200);
  });
});

describe("rate limits while Redis is unavailable", () => {
  let redisServer: PrivateRedis;
  let testDb: TestDatabase;
  let queues: Queues;
  let redis: Redis;
  let app: FastifyInstance;
  let project: CreatedProject;
  const logLines: { msg: string; skipped?: number }[] = [];

  beforeAll(async () => {
    redisServer = await startPrivateRedis();
    testDb = await createTestDatabase();
    const config = loadConfig({
      NODE_ENV: "test",
      DATABASE_URL: testDb.connectionString,
      REDIS_URL: redisServer.url,
      QUEUE_PREFIX: `test-${randomBytes(5).toString("hex")}`,
      RATE_LIMIT_PER_SECOND: "0.1",
      RATE_LIMIT_BURST: "3",
    });
    const log = pino({ level: "warn" }, { write: (line: string) => void logLines.push(JSON.parse(line)) });
    queues = createQueues({ redisUrl: config.REDIS_URL, prefix: config.QUEUE_PREFIX });
    redis = createRedis(config.REDIS_URL, "producer");
    app = await buildApp({ config, db: testDb.db, queues, redis, log, now: () => new Date() });
    await app.ready();
    project = await createProject(testDb.db, "Shop");
  });
  afterAll(async () => {
    redisServer.thaw();
    await app.close();
    await queues.close();
    redis.disconnect();
    await redisServer.kill();
    await testDb.destroy();
  });

  const stored = async (messageId: string) =>
    (await testDb.db.selectFrom("events").select("id").where("project_id", "=", project.id).where("message_id", "=", messageId).execute()).length;

  it("stores events and answers 2xx when Redis hangs (the check gives up and lets the request through)", async () => {
    redisServer.freeze();
    try {
      for (let i = 0; i < 5; i++) {
        const res = await send(app, project, `frozen-${i}`);
        expect(res.statusCode).toBe(200);
        expect(await stored(`frozen-${i}`)).toBe(1);
      }
    } finally {
      redisServer.thaw();
    }
    expect(logLines.some((l) => /rate limits not enforced/.test(l.msg))).toBe(true);
  });

  it("stores events and answers 2xx when Redis is down, and limits again once it is back", async () => {
    await redisServer.kill();
    for (let i = 0; i < 5; i++) {
      expect((await send(app, project, `down-${i}`)).statusCode).toBe(200);
      expect(await stored(`down-${i}`)).toBe(1);
    }

    await redisServer.start();
    // The limiter reconnects by itself; until then requests keep going through.
    let status = 200;
    for (let i = 0; i < 200 && status === 200; i++) {
      status = (await send(app, project, `back-${i}`)).statusCode;
      if (status === 200) await new Promise((r) => setTimeout(r, 50));
    }
    expect(status).toBe(429);
  });
});
