/**
 * Lifecycle stages at the project level: settings (projects.settings.lifecycle), the count per stage,
 * and the set-based re-staging of every user after the settings change. The pipeline keeps each
 * user's stage current afterwards (segments.processor).
 */
import { DEFAULT_LIFECYCLE_SETTINGS, LIFECYCLE_STAGES, lifecycleConditions, lifecycleSettingsSchema, type Condition, type LifecycleSettings, type LifecycleSettingsInput } from "@nurture/core";
import type { Db, DbOrTrx } from "@nurture/db";
import { sql } from "kysely";
import { updateProjectSettings } from "../projects/projects.repository";
import { conditionSql } from "./condition-sql";

const CHUNK = 5_000;
const parsedSettings = new Map<string, LifecycleSettings>();

/**
 * The project's lifecycle settings with defaults filled in. Parsed once per distinct value: the same
 * object comes back, so the stage conditions compiled from it are reused across pipeline runs.
 */
export function lifecycleSettingsOf(projectSettings: Record<string, unknown>): LifecycleSettings {
  const raw = projectSettings.lifecycle;
  if (raw === undefined || raw === null) return DEFAULT_LIFECYCLE_SETTINGS;
  const key = JSON.stringify(raw);
  let settings = parsedSettings.get(key);
  if (!settings) {
    const parsed = lifecycleSettingsSchema.safeParse(raw);
    settings = parsed.success ? parsed.data : DEFAULT_LIFECYCLE_SETTINGS;
    if (parsedSettings.size > 1_000) parsedSettings.clear();
    parsedSettings.set(key, settings);
  }
  return settings;
}

export async function getLifecycleSettings(db: DbOrTrx, projectId: string): Promise<LifecycleSettings> {
  const row = await db.selectFrom("projects").select("settings").where("id", "=", projectId).executeTakeFirst();
  return lifecycleSettingsOf(row?.settings ?? {});
}

/** Stores the settings; the caller starts the re-staging task (see segment-tasks). */
export async function saveLifecycleSettings(db: DbOrTrx, projectId: string, input: LifecycleSettingsInput): Promise<LifecycleSettings> {
  const settings = lifecycleSettingsSchema.parse(input);
  await updateProjectSettings(db, projectId, "lifecycle", settings);
  return settings;
}

export type StageCounts = Record<(typeof LIFECYCLE_STAGES)[number], number> & { none: number };

/** Users per stage; `none` counts anonymous visitors (and users not staged yet). */
export async function lifecycleCounts(db: DbOrTrx, projectId: string): Promise<StageCounts> {
  const rows = await db
    .selectFrom("users")
    .select(["lifecycle_stage", (eb) => eb.fn.countAll<number>().as("n")])
    .where("project_id", "=", projectId)
    .groupBy("lifecycle_stage")
    .execute();
  const counts: StageCounts = { new: 0, novice: 0, engaged: 0, power: 0, none: 0 };
  for (const r of rows) {
    const stage = r.lifecycle_stage as keyof StageCounts | null;
    if (stage && stage in counts) counts[stage] += Number(r.n);
    else counts.none += Number(r.n);
  }
  return counts;
}

/** The stage as SQL over `users AS u`: the same conditions, in the same order, as computeLifecycleStage. */
export function stageSql(projectId: string, settings: LifecycleSettings, now: Date) {
  const c = lifecycleConditions(settings);
  const w = (x: Condition) => conditionSql(x, { projectId, now });
  return sql<string | null>`(CASE WHEN NOT ${w(c.eligible)} THEN NULL WHEN ${w(c.power)} THEN 'power' WHEN ${w(c.engaged)} THEN 'engaged' WHEN ${w(c.new)} THEN 'new' ELSE 'novice' END)`;
}

/** The stage conditions that can change with time alone. */
export function lifecycleTickConditions(settings: LifecycleSettings): Condition[] {
  const c = lifecycleConditions(settings);
  return [c.power, c.engaged];
}

/**
 * Re-stages the next chunk of users after `after` and records each change on the timeline.
 * Returns the last user id done, or null when there were none left.
 */
export async function backfillLifecycleChunk(db: Db, projectId: string, settings: LifecycleSettings, asOf: Date, after: number): Promise<number | null> {
  const at = asOf.toISOString();
  const result = await sql<{ last: number | null }>`
    WITH chunk AS (
      SELECT u.id FROM users u WHERE u.project_id = ${projectId} AND u.id > ${after} ORDER BY u.id LIMIT ${CHUNK}
    ),
    staged AS (
      SELECT u.id, u.lifecycle_stage AS before, ${stageSql(projectId, settings, asOf)} AS after FROM users u JOIN chunk USING (id)
    ),
    changed AS (
      UPDATE users u SET lifecycle_stage = s.after FROM staged s
      WHERE u.id = s.id AND u.lifecycle_stage IS DISTINCT FROM s.after
      RETURNING u.id, s.before, s.after
    ),
    timeline AS (
      INSERT INTO events (project_id, user_id, message_id, type, name, properties, occurred_at, processed_at)
      SELECT ${projectId}::uuid, id, '$lifecycle:' || id || ':' || ${String(asOf.getTime())}, 'system', '$lifecycle_changed',
             jsonb_build_object('from', before, 'to', after), ${at}::timestamptz, ${at}::timestamptz
      FROM changed
      ON CONFLICT DO NOTHING
    )
    SELECT max(id) AS last FROM chunk`.execute(db);
  const last = result.rows[0]?.last;
  return last === null || last === undefined ? null : Number(last);
}
