import { randomBytes } from "node:crypto";
import { buildApp } from "@nurture/api";
import { createProject, type CreatedProject } from "@nurture/backend";
import { loadConfig, type Config } from "@nurture/config";
import type { Db } from "@nurture/db";
import { createTestDatabase } from "@nurture/db/testing";
import { createQueues, createRedis, QUEUE_NAMES, type Queues } from "@nurture/jobs";
import { createDeliveryPools, startWorker, type DeliveryPools, type RunningWorker } from "@nurture/worker";
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from "fastify";
import type { Redis } from "ioredis";
import { pino } from "pino";
import { createTestClock, type TestClock } from "./test-clock";

export interface Harness {
  db: Db;
  schema: string;
  app: FastifyInstance;
  queues: Queues;
  redis: Redis;
  config: Config;
  clock: TestClock;
  project: CreatedProject;
  /** Present when started with `worker: true`. */
  worker?: RunningWorker;
  /** The delivery pools the worker uses, for more workers a test starts itself. */
  deliveryPools: DeliveryPools;
  /** Admin API call with the project's secret key. */
  admin(options: InjectOptions): Promise<LightMyRequestResponse>;
  /** Tracking call with the project's write key (HTTP Basic, as Segment clients do). */
  track(path: string, body: unknown): Promise<LightMyRequestResponse>;
  /** Waits until the pipeline has processed every stored event (the worker must be running). */
  drain(timeoutMs?: number): Promise<void>;
  newProject(name?: string): Promise<CreatedProject>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  worker?: boolean;
  config?: Record<string, string>;
  /** Sweeper interval for the worker; tests usually call `worker.sweep()` themselves. */
  sweepIntervalMs?: number;
}

/**
 * A whole Nurture — real PostgreSQL schema, real Redis with a unique queue prefix, the API and
 * optionally the worker — for one test file.
 */
export async function createHarness(options: HarnessOptions = {}): Promise<Harness> {
  const testDb = await createTestDatabase();
  const prefix = `test-${randomBytes(5).toString("hex")}`;
  const config = loadConfig({
    NODE_ENV: "test",
    DATABASE_URL: testDb.connectionString,
    QUEUE_PREFIX: prefix,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    NURTURE_ADMIN_TOKEN: "test-operator-token-0123456789",
    SIGNING_SECRET: "test-signing-secret-0123456789-0123456789",
    PUBLIC_URL: "http://127.0.0.1:3000",
    WORKER_CONCURRENCY: "4",
    ...options.config,
  });
  const log = pino({ level: config.LOG_LEVEL });
  const redis = createRedis(config.REDIS_URL, "producer");
  const queues = createQueues({ redisUrl: config.REDIS_URL, prefix });
  const clock = createTestClock();
  const db = testDb.db;
  const app = await buildApp({ config, db, queues, redis, log, now: clock.now });
  await app.ready();
  const project = await createProject(db, "Test shop");
  const deliveryPools = createDeliveryPools({ connectionString: testDb.connectionString, schema: testDb.schema, config });
  const worker = options.worker
    ? startWorker({ config, db, deliveryPools, queues, log, now: clock.now }, { sweepIntervalMs: options.sweepIntervalMs ?? 0 })
    : undefined;

  const harness: Harness = {
    db,
    schema: testDb.schema,
    app,
    queues,
    redis,
    config,
    clock,
    project,
    deliveryPools,
    ...(worker ? { worker } : {}),
    admin: (opts) => app.inject({ ...opts, headers: { authorization: `Bearer ${project.secretKey}`, ...opts.headers } }),
    track: (path, body) =>
      app.inject({
        method: "POST",
        url: path,
        payload: body as object,
        headers: { authorization: `Basic ${Buffer.from(`${project.writeKey}:`).toString("base64")}` },
      }),
    async drain(timeoutMs = 15_000) {
      if (!worker) throw new Error("drain() needs the worker: createHarness({ worker: true })");
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const pending = await db.selectFrom("events").select((eb) => eb.fn.countAll<number>().as("n")).where("processed_at", "is", null).executeTakeFirstOrThrow();
        const counts = await queues.get("pipeline").getJobCounts("waiting", "active", "delayed", "prioritized");
        const underWay = (counts.waiting ?? 0) + (counts.active ?? 0) + worker.runningInProcess();
        const busy = Number(pending.n) > 0 || underWay + (counts.prioritized ?? 0) > 0;
        if (!busy) return;
        if (Date.now() > deadline) throw new Error(`pipeline not drained after ${timeoutMs} ms: ${pending.n} events unprocessed`);
        if (Number(pending.n) > 0 && underWay === 0) await worker.sweep();
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    newProject: (name = "Other shop") => createProject(db, name),
    async close() {
      await worker?.close();
      await deliveryPools.destroy();
      await app.close();
      await obliterate(queues);
      await queues.close();
      redis.disconnect();
      await testDb.destroy();
    },
  };
  return harness;
}

/** Removes the file's queues from Redis, so runs leave nothing behind. */
async function obliterate(queues: Queues): Promise<void> {
  for (const name of QUEUE_NAMES) {
    await queues.get(name).obliterate({ force: true }).catch(() => {});
  }
}
