// The API (and worker, with BENCH_WORKER=1) as a separate process for benchmarks, plus a no-op
// route with the same body schema as /v1/track: the baseline for request latency.
import { buildApp } from "@nurture/api";
import { loadConfig } from "@nurture/config";
import { createDb } from "@nurture/db";
import { createQueues, createRedis } from "@nurture/jobs";
import { createDeliveryPools, startWorker } from "@nurture/worker";
import { pino } from "pino";
import { trackBody } from "../services/api/src/schemas/tracking.schemas";

const config = loadConfig({ ...process.env, LOG_LEVEL: "silent" });
const db = createDb({ connectionString: config.DATABASE_URL!, schema: process.env.BENCH_SCHEMA, max: 20 });
// As the runner does: deliveries hold their connection through the hand-over, on pools of their own.
const deliveryPools = createDeliveryPools({ connectionString: config.DATABASE_URL!, schema: process.env.BENCH_SCHEMA, config });
const queues = createQueues({ redisUrl: config.REDIS_URL, prefix: config.QUEUE_PREFIX });
const redis = createRedis(config.REDIS_URL, "producer");
const log = pino({ level: "silent" });
const now = () => new Date();
const app = await buildApp({ config, db, queues, redis, log, now });
app.post("/bench/noop", { schema: { body: trackBody } }, async () => ({ success: true, stored: 1, duplicates: 0 }));
const worker = process.env.BENCH_WORKER === "1" ? startWorker({ config, db, deliveryPools, queues, log, now }, { sweepIntervalMs: 1_000 }) : undefined;
await app.listen({ host: "127.0.0.1", port: 0 });
const address = app.server.address();
console.log(`LISTENING http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`);
process.on("SIGTERM", async () => {
  await app.close();
  await worker?.close();
  await queues.close();
  redis.disconnect();
  await deliveryPools.destroy();
  await db.destroy();
  process.exit(0);
});
