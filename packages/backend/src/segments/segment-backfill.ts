/**
 * Rebuilding a segment's stored membership in one set-based statement: who matches now joins (entry
 * recorded on the timeline in the background, see segment-followup), who no longer matches leaves
 * (exit recorded at once, with the entry first if that one was still pending).
 */
import type { Condition } from "@nurture/core";
import type { DbOrTrx } from "@nurture/db";
import { sql } from "kysely";
import { conditionSql } from "./condition-sql";
import { loadCounterDefinitions } from "./counters.repository";

export interface BackfillResult {
  members: number;
  entered: number;
  exited: number;
}

/** Counters the condition reads that this project does not keep: compile those from raw events. */
export async function unkeptCounters(db: DbOrTrx, projectId: string, keys: readonly string[]): Promise<Set<string>> {
  if (keys.length === 0) return new Set();
  const kept = new Set((await loadCounterDefinitions(db, projectId)).map((c) => c.key));
  return new Set(keys.filter((k) => !kept.has(k)));
}

export async function backfillSegment(db: DbOrTrx, projectId: string, segment: { id: string; condition: Condition }, now: Date): Promise<BackfillResult> {
  const where = conditionSql(segment.condition, { projectId, now });
  const at = now.toISOString();
  const stamp = now.getTime();
  const props = JSON.stringify({ segmentId: segment.id });
  const result = await sql<{ members: number; entered: number; exited: number }>`
    WITH matching AS MATERIALIZED (
      SELECT u.id FROM users u WHERE u.project_id = ${projectId} AND ${where}
    ),
    exited AS (
      DELETE FROM segment_members m
      WHERE m.segment_id = ${segment.id} AND NOT EXISTS (SELECT 1 FROM matching x WHERE x.id = m.user_id)
      RETURNING m.user_id, m.entered_at, m.entry_recorded
    ),
    entered AS (
      INSERT INTO segment_members (segment_id, user_id, project_id, entered_at, entry_recorded)
      SELECT ${segment.id}::uuid, id, ${projectId}::uuid, ${at}::timestamptz, false FROM matching
      ON CONFLICT (segment_id, user_id) DO NOTHING
      RETURNING user_id
    ),
    timeline AS (
      INSERT INTO events (project_id, user_id, message_id, type, name, properties, occurred_at, processed_at)
      SELECT ${projectId}::uuid, user_id, '$segment:' || ${segment.id} || ':' || user_id || ':in:' || (extract(epoch FROM entered_at) * 1000)::bigint,
             'system', '$segment_entered', ${props}::jsonb, entered_at, ${at}::timestamptz
      FROM exited WHERE NOT entry_recorded
      UNION ALL
      SELECT ${projectId}::uuid, user_id, '$segment:' || ${segment.id} || ':' || user_id || ':out:' || ${String(stamp)},
             'system', '$segment_exited', ${props}::jsonb, ${at}::timestamptz, ${at}::timestamptz
      FROM exited
      ON CONFLICT DO NOTHING
    )
    SELECT (SELECT count(*) FROM matching) AS members, (SELECT count(*) FROM entered) AS entered, (SELECT count(*) FROM exited) AS exited
  `.execute(db);
  const row = result.rows[0]!;
  return { members: Number(row.members), entered: Number(row.entered), exited: Number(row.exited) };
}

/** The `$segment_entered` message id, shared with the background writer so a retry writes nothing twice. */
export const entryMessageIdSql = (segmentId: string) =>
  sql`'$segment:' || ${segmentId} || ':' || m.user_id || ':in:' || (extract(epoch FROM m.entered_at) * 1000)::bigint`;
