import { sql } from "kysely";
import { countStored, countUnprocessed, startWorld, streamEvents, witnessBalance } from "./fault-world";
import { result, sleep, waitFor, type ScenarioResult } from "./fault-kit";

/** 4. Redis is killed (losing every job) and restarted while events stream in. */
export async function redisRestartedUnderLoad(): Promise<ScenarioResult> {
  const world = await startWorld();
  try {
    const load = streamEvents(world.api.url, world.project.writeKey, { ratePerSecond: 80, durationMs: 12_000 });
    await sleep(4_000);
    world.redis.kill();
    await sleep(4_000);
    await world.redis.start();
    const sent = await load;
    const stored = await countStored(world.db, world.project.id, sent.ok);
    // Processing resumes by itself: the sweeper re-enqueues what Redis lost.
    const recoveryMs = await waitFor(async () => (await countUnprocessed(world.db)) === 0, 90_000, 250).catch(() => -1);
    const witness = await witnessBalance(world.db, world.project.id, "load_tick");
    return result(
      "redis-restarted-under-load",
      {
        "no 2xx for an unstored event": stored === sent.ok.length,
        "processing resumed by itself": recoveryMs >= 0,
        "every event processed exactly once": witness.points === witness.events,
      },
      { sent: sent.sent, acknowledged: sent.ok.length, stored, statuses: sent.statuses, recoveryMs, witness },
    );
  } finally {
    await world.close();
  }
}

/** 5. PostgreSQL crashes (immediate stop) under load and comes back; the API is not restarted. */
export async function postgresStoppedUnderLoad(): Promise<ScenarioResult> {
  const world = await startWorld();
  try {
    const load = streamEvents(world.api.url, world.project.writeKey, { ratePerSecond: 60, durationMs: 14_000 });
    await sleep(4_000);
    await world.pg.stop("immediate");
    const downAt = Date.now();
    await sleep(4_000);
    await world.pg.start();
    const upAt = Date.now();
    // The same API process answers 2xx again without a restart.
    const recoveryMs = await waitFor(async () => {
      const res = await fetch(`${world.api.url}/v1/track`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Basic ${Buffer.from(`${world.project.writeKey}:`).toString("base64")}` },
        body: JSON.stringify({ anonymousId: "probe", event: "probe" }),
      });
      return res.status === 200;
    }, 30_000, 200).catch(() => -1);
    const sent = await load;
    const stored = await countStored(world.db, world.project.id, sent.ok);
    const statuses = Object.keys(sent.statuses);
    const onlyCleanErrors = statuses.every((s) => s === "200" || s === "503");
    return result(
      "postgres-stopped-under-load",
      {
        "no 2xx for an unstored event": stored === sent.ok.length,
        "clear 503s during the outage": (sent.statuses["503"] ?? 0) > 0 && onlyCleanErrors,
        "recovers without a restart": recoveryMs >= 0,
      },
      { sent: sent.sent, acknowledged: sent.ok.length, stored, statuses: sent.statuses, outageMs: upAt - downAt, recoveryAfterStartMs: recoveryMs },
    );
  } finally {
    await world.close();
  }
}

/** 6. Every event sent 1–5 times, concurrently; the same messageIds also in a second project. */
export async function retryStorm(): Promise<ScenarioResult> {
  const world = await startWorld();
  try {
    const { createProject } = await import("@nurture/backend");
    const other = await createProject(world.db, "Second project");
    const auth = (key: string) => `Basic ${Buffer.from(`${key}:`).toString("base64")}`;
    const EVENTS = 400;
    const sends: Promise<number>[] = [];
    let copies = 0;
    for (let i = 0; i < EVENTS; i++) {
      const body = JSON.stringify({ anonymousId: `storm-${i % 40}`, event: "storm", messageId: `storm-${i}` });
      const times = 1 + (i % 5);
      for (let t = 0; t < times; t++) {
        for (const key of [world.project.writeKey, other.writeKey]) {
          copies++;
          sends.push(fetch(`${world.api.url}/v1/track`, { method: "POST", headers: { "content-type": "application/json", authorization: auth(key) }, body }).then((r) => r.status));
        }
      }
      if (sends.length >= 64) await Promise.all(sends.splice(0, sends.length));
    }
    const statuses = await Promise.all(sends);
    const perProject = await sql<{ project_id: string; n: number; distinct_ids: number }>`
      SELECT project_id, count(*)::int AS n, count(DISTINCT message_id)::int AS distinct_ids FROM events WHERE name = 'storm' GROUP BY project_id`.execute(world.db);
    await waitFor(async () => (await countUnprocessed(world.db)) === 0, 60_000, 250).catch(() => -1);
    const witness = await witnessBalance(world.db, world.project.id, "storm");
    const oneEach = perProject.rows.length === 2 && perProject.rows.every((r) => r.n === EVENTS && r.distinct_ids === EVENTS);
    return result(
      "retry-storm",
      {
        "one stored event per (project, messageId)": oneEach,
        "no failed request": statuses.every((s) => s === 200),
        "one processing per (project, messageId)": witness.points === EVENTS,
      },
      { events: EVENTS, requests: copies, stored: perProject.rows.map((r) => r.n), witness },
    );
  } finally {
    await world.close();
  }
}
