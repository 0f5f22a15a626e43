/**
 * A worker in a process of its own, for tests that kill it (`kill -9`) mid-job. Reads the test's
 * configuration from the environment, plus NURTURE_TEST_SCHEMA: the test database's schema.
 */
import { loadConfig } from "@nurture/config";
import { createDb } from "@nurture/db";
import { createQueues } from "@nurture/jobs";
import { pino } from "pino";
import { createDeliveryPools } from "../delivery-pools";
import { startWorker } from "../worker";

const config = loadConfig(process.env);
const db = createDb({ connectionString: config.DATABASE_URL!, ...(process.env.NURTURE_TEST_SCHEMA ? { schema: process.env.NURTURE_TEST_SCHEMA } : {}), max: 4 });
const queues = createQueues({ redisUrl: config.REDIS_URL, prefix: config.QUEUE_PREFIX });
const deliveryPools = createDeliveryPools({ connectionString: config.DATABASE_URL!, schema: process.env.NURTURE_TEST_SCHEMA, config });
startWorker({ config, db, deliveryPools, queues, log: pino({ level: config.LOG_LEVEL }), now: () => new Date() }, { sweepIntervalMs: 0, concurrency: 2 });
process.send?.("ready");
