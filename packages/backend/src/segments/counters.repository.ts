/**
 * Counters (see @nurture/core counter-key): which ones a project keeps, who needs them, building them
 * from the raw events when a condition first asks for one, and reading/writing one user's.
 */
import { DAY_MS, dayKeyOfEpochDay, epochDay, type CounterDefinition, type EventCounter, type EventPropertyFilter } from "@nurture/core";
import type { DbOrTrx } from "@nurture/db";
import { sql } from "kysely";
import { and, propertySql, TRUE } from "./property-sql";

export interface KeptCounter {
  key: string;
  event: string;
  where: EventPropertyFilter[] | null;
  windowDays: number;
}

export async function loadCounterDefinitions(db: DbOrTrx, projectId: string): Promise<KeptCounter[]> {
  const rows = await db.selectFrom("event_counters").select(["key", "event_name", "filter", "window_days"]).where("project_id", "=", projectId).orderBy("key").execute();
  return rows.map((r) => ({ key: r.key, event: r.event_name, where: r.filter as EventPropertyFilter[] | null, windowDays: r.window_days }));
}

const filterOnEvents = (where: EventPropertyFilter[] | null, now: Date) => (where ? and(where.map((f) => propertySql(sql.ref("e.properties"), f, now))) : TRUE);

/** First day a window of `windowDays` can still read at `now` or later. */
const firstKeptDay = (windowDays: number, now: Date) => dayKeyOfEpochDay(epochDay(now.getTime()) - windowDays + 1);

/**
 * Builds a counter from the events the pipeline has processed (later ones are counted as the pipeline
 * processes them), for every user of the project or only `userId`. Replaces what was there.
 */
export async function rebuildCounter(db: DbOrTrx, projectId: string, counter: KeptCounter, now: Date, userId?: number): Promise<void> {
  const forUser = userId === undefined ? sql`` : sql` AND e.user_id = ${userId}`;
  const matching = sql`e.project_id = ${projectId} AND e.name = ${counter.event} AND e.type <> 'system' AND e.processed_at IS NOT NULL AND ${filterOnEvents(counter.where, now)}${forUser}`;
  const scope = userId === undefined ? sql`` : sql` AND user_id = ${userId}`;
  await sql`DELETE FROM user_counters WHERE project_id = ${projectId} AND counter_key = ${counter.key}${scope}`.execute(db);
  await sql`DELETE FROM user_counter_days WHERE project_id = ${projectId} AND counter_key = ${counter.key}${scope}`.execute(db);
  await sql`
    INSERT INTO user_counters (user_id, counter_key, project_id, total, first_at, last_at)
    SELECT e.user_id, ${counter.key}, ${projectId}::uuid, count(*), min(e.occurred_at), max(e.occurred_at)
    FROM events e WHERE ${matching}
    GROUP BY e.user_id`.execute(db);
  if (counter.windowDays > 0) {
    await sql`
      INSERT INTO user_counter_days (user_id, counter_key, day, project_id, count)
      SELECT e.user_id, ${counter.key}, (e.occurred_at AT TIME ZONE 'UTC')::date, ${projectId}::uuid, count(*)
      FROM events e WHERE ${matching} AND e.occurred_at >= ${new Date(epochDay(now.getTime() - (counter.windowDays - 1) * DAY_MS) * DAY_MS).toISOString()}::timestamptz
      GROUP BY 1, 3`.execute(db);
  }
}

/**
 * Makes `owner` (e.g. "segment:<id>") need exactly `needed`: counters nobody needed before are built
 * from the raw events, counters whose window grew get their daily buckets rebuilt, and counters nobody
 * needs any more are dropped. Call inside the rebuild lock.
 */
export async function syncCounterOwner(db: DbOrTrx, projectId: string, owner: string, needed: CounterDefinition[], now: Date): Promise<void> {
  const before = new Map((await loadCounterDefinitions(db, projectId)).map((c) => [c.key, c]));
  await db.deleteFrom("event_counter_owners").where("project_id", "=", projectId).where("owner", "=", owner).execute();
  for (const def of needed) {
    if (!before.has(def.key)) {
      await db
        .insertInto("event_counters")
        .values({ project_id: projectId, key: def.key, event_name: def.event, filter: def.where ? JSON.stringify(def.where) : null, window_days: def.windowDays })
        .execute();
    }
  }
  if (needed.length > 0) {
    await db
      .insertInto("event_counter_owners")
      .values(needed.map((d) => ({ project_id: projectId, key: d.key, owner, window_days: d.windowDays })))
      .execute();
  }
  // Windows follow their owners; counters without owners go, with their rows.
  await sql`
    UPDATE event_counters c SET window_days = o.w
    FROM (SELECT key, max(window_days) AS w FROM event_counter_owners WHERE project_id = ${projectId} GROUP BY key) o
    WHERE c.project_id = ${projectId} AND c.key = o.key AND c.window_days <> o.w`.execute(db);
  const orphaned = await sql<{ key: string }>`
    DELETE FROM event_counters c WHERE c.project_id = ${projectId}
      AND NOT EXISTS (SELECT 1 FROM event_counter_owners o WHERE o.project_id = c.project_id AND o.key = c.key)
    RETURNING c.key`.execute(db);
  if (orphaned.rows.length > 0) {
    const keys = orphaned.rows.map((r) => r.key);
    await sql`DELETE FROM user_counters WHERE project_id = ${projectId} AND counter_key = ANY(${keys}::text[])`.execute(db);
    await sql`DELETE FROM user_counter_days WHERE project_id = ${projectId} AND counter_key = ANY(${keys}::text[])`.execute(db);
  }
  const after = await loadCounterDefinitions(db, projectId);
  for (const counter of after) {
    const previous = before.get(counter.key);
    if (!previous || counter.windowDays > previous.windowDays) await rebuildCounter(db, projectId, counter, now);
  }
}

/** One user's counters as the card carries them (daily buckets as "YYYY-MM-DD"). */
export async function loadUserCounters(db: DbOrTrx, userId: number): Promise<Record<string, EventCounter>> {
  const [totals, days] = await Promise.all([
    db.selectFrom("user_counters").select(["counter_key", "total", "first_at", "last_at"]).where("user_id", "=", userId).execute(),
    sql<{ counter_key: string; day: string; count: number }>`SELECT counter_key, day::text AS day, count FROM user_counter_days WHERE user_id = ${userId}`.execute(db),
  ]);
  const counters: Record<string, EventCounter> = {};
  for (const t of totals) counters[t.counter_key] = { total: t.total, firstAt: t.first_at, lastAt: t.last_at, daily: {} };
  for (const d of days.rows) {
    const counter = counters[d.counter_key];
    if (counter) counter.daily[d.day] = d.count;
  }
  return counters;
}

/**
 * Writes one user's counters back after the pipeline counted new events into them: totals and the
 * touched days, and drops days no window can read any more.
 */
export async function saveUserCounters(db: DbOrTrx, projectId: string, userId: number, counters: Record<string, EventCounter>, touched: Map<string, Set<string>>, kept: KeptCounter[], now: Date): Promise<void> {
  if (touched.size === 0) return;
  const keys = [...touched.keys()];
  const rows = keys.map((k) => counters[k]!);
  await sql`
    INSERT INTO user_counters AS c (user_id, counter_key, project_id, total, first_at, last_at)
    SELECT ${userId}::bigint, k, ${projectId}::uuid, t, f, l
    FROM unnest(${keys}::text[], ${rows.map((r) => r.total)}::bigint[], ${rows.map((r) => r.firstAt!.toISOString())}::timestamptz[], ${rows.map((r) => r.lastAt!.toISOString())}::timestamptz[]) AS v(k, t, f, l)
    ON CONFLICT (user_id, counter_key) DO UPDATE SET total = excluded.total, first_at = excluded.first_at, last_at = excluded.last_at`.execute(db);
  const windows = new Map(kept.map((k) => [k.key, k.windowDays]));
  const dayKeys: string[] = [];
  const dayValues: string[] = [];
  const dayCounts: number[] = [];
  for (const [key, days] of touched) {
    const windowDays = windows.get(key) ?? 0;
    if (windowDays === 0) continue;
    const oldest = firstKeptDay(windowDays, now);
    for (const day of days) {
      if (day < oldest) continue;
      dayKeys.push(key);
      dayValues.push(day);
      dayCounts.push(counters[key]!.daily[day]!);
    }
  }
  if (dayKeys.length > 0) {
    await sql`
      INSERT INTO user_counter_days AS d (user_id, counter_key, day, project_id, count)
      SELECT ${userId}::bigint, k, day, ${projectId}::uuid, n FROM unnest(${dayKeys}::text[], ${dayValues}::date[], ${dayCounts}::int[]) AS v(k, day, n)
      ON CONFLICT (user_id, counter_key, day) DO UPDATE SET count = excluded.count`.execute(db);
  }
  const prune = kept.filter((k) => touched.has(k.key) && k.windowDays > 0);
  if (prune.length > 0) {
    await sql`
      DELETE FROM user_counter_days d USING unnest(${prune.map((k) => k.key)}::text[], ${prune.map((k) => firstKeptDay(k.windowDays, now))}::date[]) AS v(k, oldest)
      WHERE d.user_id = ${userId} AND d.counter_key = v.k AND d.day < v.oldest`.execute(db);
  }
}
