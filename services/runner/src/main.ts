import type { ChildProcess } from "node:child_process";
import { buildApp } from "@nurture/api";
import { createProject, listProjects } from "@nurture/backend";
import { ConfigError, loadConfig, type Config } from "@nurture/config";
import { createDb, migrate } from "@nurture/db";
import { createQueues, createRedis } from "@nurture/jobs";
import { createDeliveryPools, startWorker } from "@nurture/worker";
import { EmbeddedPostgresUnavailableError, startEmbeddedPostgres, type EmbeddedDatabase } from "./embedded-postgres";
import { ensureRedis, RedisUnavailableError } from "./local-redis";
import { createLogger } from "./logger";
import { resolveSigningSecret } from "./signing-secret";

type Mode = "all" | "api" | "worker";

/**
 * `npm start` runs API and worker in one process with zero configuration (embedded PostgreSQL,
 * a local Redis); `start:api` / `start:worker` run one role each for scaling out. No role keeps
 * state of its own: everything lives in PostgreSQL and Redis.
 */
async function main(): Promise<void> {
  const mode = (process.argv[2] ?? "all") as Mode;
  if (!["all", "api", "worker"].includes(mode)) throw new Error(`unknown mode ${mode}: use api, worker or nothing`);

  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(config.LOG_LEVEL, `nurture-${mode}`);

  let embedded: EmbeddedDatabase | undefined;
  let databaseUrl = config.DATABASE_URL;
  if (!databaseUrl) {
    if (mode !== "all") {
      console.error("DATABASE_URL: required when running the API or the worker alone (`npm start` runs an embedded PostgreSQL instead).");
      process.exit(2);
    }
    log.info({ dir: `${config.DATA_DIR}/postgres` }, "DATABASE_URL is not set: starting the embedded PostgreSQL");
    try {
      embedded = await startEmbeddedPostgres(config.DATA_DIR, (line) => log.debug({ postgres: line }));
    } catch (err) {
      if (err instanceof EmbeddedPostgresUnavailableError) {
        console.error(err.message);
        process.exit(2);
      }
      throw err;
    }
    databaseUrl = embedded.url;
  }

  let localRedis: ChildProcess | undefined;
  try {
    localRedis = (await ensureRedis(config.REDIS_URL, config.DATA_DIR)).started;
    if (localRedis) log.info({ dir: `${config.DATA_DIR}/redis` }, "no Redis answered: started redis-server");
  } catch (err) {
    if (err instanceof RedisUnavailableError) {
      console.error(err.message);
      await embedded?.stop();
      process.exit(2);
    }
    throw err;
  }

  config = { ...config, DATABASE_URL: databaseUrl, SIGNING_SECRET: await resolveSigningSecret(config.SIGNING_SECRET, config.DATA_DIR) };
  const db = createDb({ connectionString: databaseUrl, max: config.DATABASE_POOL_SIZE, applicationName: `nurture-${mode}` });
  const applied = await migrate(db);
  if (applied.length > 0) log.info({ applied }, "migrations applied");

  if (mode === "all" && (await listProjects(db)).length === 0) {
    const project = await createProject(db, "Default project");
    log.info({ projectId: project.id }, "created the default project");
    // Printed once, on purpose: the secret key is stored hashed and cannot be shown again.
    console.log(`\nDefault project created. Keep these keys (the secret key is not shown again):\n${JSON.stringify(project, null, 2)}\n`);
  }

  const now = () => new Date();
  const queues = createQueues({ redisUrl: config.REDIS_URL, prefix: config.QUEUE_PREFIX });
  const redis = createRedis(config.REDIS_URL, "producer");
  const app = mode === "worker" ? undefined : await buildApp({ config, db, queues, redis, log, now });
  const deliveryPools = mode === "api" ? undefined : createDeliveryPools({ connectionString: databaseUrl, config, applicationName: `nurture-${mode}` });
  const worker = deliveryPools ? startWorker({ config, db, deliveryPools, queues, log, now }) : undefined;
  if (app) {
    await app.listen({ host: config.HOST, port: config.PORT });
    log.info({ url: `http://${config.HOST}:${config.PORT}`, docs: `http://${config.HOST}:${config.PORT}/docs` }, "API listening");
  }
  if (worker) log.info({ concurrency: config.WORKER_CONCURRENCY }, "worker running");

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "shutting down: finishing in-flight requests and jobs");
    // A hung dependency must not keep the process from exiting.
    const force = setTimeout(() => {
      log.error("shutdown took too long; exiting");
      process.exit(1);
    }, 25_000);
    force.unref();
    await app?.close();
    await worker?.close();
    await queues.close();
    redis.disconnect();
    await deliveryPools?.destroy();
    await db.destroy();
    await embedded?.stop();
    localRedis?.kill();
    log.info("stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
