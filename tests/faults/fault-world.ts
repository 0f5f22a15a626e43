import { randomBytes } from "node:crypto";
import { createProject, type CreatedProject } from "@nurture/backend";
import { createDb, migrate, type Db } from "@nurture/db";
import { createQueues, type Queues } from "@nurture/jobs";
import { startManagedPostgres, type ManagedPostgres } from "./managed-postgres";
import { freePort, startManagedRedis, startNurture, type ManagedRedis, type NurtureProcess } from "./fault-kit";

/** PostgreSQL, Redis and Nurture processes of the suite's own, so faults harm nothing else. */
export interface FaultWorld {
  pg: ManagedPostgres;
  redis: ManagedRedis;
  db: Db;
  project: CreatedProject;
  env: Record<string, string>;
  /** The installation's queues, to count jobs (the suite adds none). */
  queues: Queues;
  api: NurtureProcess;
  workers: NurtureProcess[];
  startWorker(): Promise<NurtureProcess>;
  close(): Promise<void>;
}

export async function startWorld(options: { workers?: number; env?: Record<string, string> } = {}): Promise<FaultWorld> {
  const pg = await startManagedPostgres();
  const redis = await startManagedRedis();
  const db = createDb({ connectionString: pg.url, max: 5 });
  await migrate(db);
  const project = await createProject(db, "Faults");
  // Known before the API starts: workers sign the links in emails with it (PUBLIC_URL).
  const apiPort = await freePort();
  const env = {
    PUBLIC_URL: `http://127.0.0.1:${apiPort}`,
    DATABASE_URL: pg.url,
    REDIS_URL: redis.url,
    QUEUE_PREFIX: `faults-${randomBytes(4).toString("hex")}`,
    SIGNING_SECRET: "fault-suite-signing-secret-0123456789abcdef",
    NURTURE_ADMIN_TOKEN: "fault-suite-operator-token",
    WORKER_CONCURRENCY: "10",
    // The scenarios flood one write key on purpose; rate limiting has its own tests.
    RATE_LIMIT_PER_SECOND: "0",
    ...options.env,
  };
  const api = await startNurture("api", env, { port: apiPort });
  // The witness for "processed exactly once": every stored load event is worth one point.
  for (const event of ["load_tick", "storm"]) {
    const res = await fetch(`${api.url}/v1/scoring-rules`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${project.secretKey}` },
      body: JSON.stringify({ name: `${event} witness`, event, points: 1 }),
    });
    if (res.status !== 201) throw new Error(`could not create the witness scoring rule: ${res.status} ${await res.text()}`);
  }
  const workers: NurtureProcess[] = [];
  const startWorker = async () => {
    const w = await startNurture("worker", env);
    workers.push(w);
    return w;
  };
  for (let i = 0; i < (options.workers ?? 1); i++) await startWorker();
  const queues = createQueues({ redisUrl: redis.url, prefix: env.QUEUE_PREFIX });
  return {
    pg,
    redis,
    db,
    project,
    env,
    queues,
    api,
    workers,
    startWorker,
    async close() {
      for (const p of [api, ...workers]) p.kill("SIGKILL");
      await Promise.all([api, ...workers].map((p) => p.exited));
      await queues.close();
      redis.kill();
      await db.destroy();
      await pg.destroy();
    },
  };
}

export interface LoadResult {
  sent: number;
  ok: string[];
  statuses: Record<string, number>;
}

/**
 * Single-event `POST /v1/track` at a steady rate for `durationMs`, each with a unique messageId;
 * remembers which messageIds were answered 2xx.
 */
export async function streamEvents(
  url: string,
  writeKey: string,
  options: { ratePerSecond: number; durationMs: number; event?: string; users?: number; messageIds?: () => string[] },
): Promise<LoadResult> {
  const auth = `Basic ${Buffer.from(`${writeKey}:`).toString("base64")}`;
  const result: LoadResult = { sent: 0, ok: [], statuses: {} };
  const inflight = new Set<Promise<void>>();
  const started = Date.now();
  let n = 0;
  while (Date.now() - started < options.durationMs) {
    const messageId = `load-${randomBytes(6).toString("hex")}-${n}`;
    const body = JSON.stringify({ anonymousId: `visitor-${n % (options.users ?? 200)}`, event: options.event ?? "load_tick", messageId });
    n++;
    result.sent++;
    const p = fetch(`${url}/v1/track`, { method: "POST", headers: { "content-type": "application/json", authorization: auth }, body, signal: AbortSignal.timeout(10_000) })
      .then(async (res) => {
        await res.arrayBuffer();
        result.statuses[res.status] = (result.statuses[res.status] ?? 0) + 1;
        if (res.status >= 200 && res.status < 300) result.ok.push(messageId);
      })
      .catch((err: Error) => {
        const key = `network:${err.name}`;
        result.statuses[key] = (result.statuses[key] ?? 0) + 1;
      })
      .finally(() => inflight.delete(p));
    inflight.add(p);
    await new Promise((r) => setTimeout(r, 1000 / options.ratePerSecond));
  }
  await Promise.all(inflight);
  return result;
}

/** How many of the acknowledged messageIds are really stored. */
export async function countStored(db: Db, projectId: string, messageIds: string[]): Promise<number> {
  if (messageIds.length === 0) return 0;
  const row = await db
    .selectFrom("events")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("project_id", "=", projectId)
    .where("message_id", "in", messageIds)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function countUnprocessed(db: Db): Promise<number> {
  const row = await db.selectFrom("events").select((eb) => eb.fn.countAll<number>().as("n")).where("processed_at", "is", null).executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * Score points minus stored witness events, per project: 0 when every event was processed exactly
 * once; positive would mean something scored twice, negative that processing was lost.
 */
export async function witnessBalance(db: Db, projectId: string, event: string): Promise<{ points: number; events: number }> {
  const points = await db.selectFrom("users").select((eb) => eb.fn.coalesce(eb.fn.sum<number>("score"), eb.lit(0)).as("s")).where("project_id", "=", projectId).executeTakeFirstOrThrow();
  const events = await db
    .selectFrom("events")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("project_id", "=", projectId)
    .where("name", "=", event)
    .executeTakeFirstOrThrow();
  return { points: Number(points.s), events: Number(events.n) };
}
