/**
 * What a segment rebuild leaves to the background, in chunks so no statement holds many rows for
 * long: the "$segment_entered" timeline events of the members it added, and — for conditions that
 * change with time — a tick for each user at the instant their answer can next change. Ticks are
 * computed as of the rebuild's instant; one already past is simply due, and the sweeper runs it.
 */
import type { Condition } from "@nurture/core";
import type { Db } from "@nurture/db";
import { sql } from "kysely";
import { entryMessageIdSql } from "./segment-backfill";
import { nextChangeSql } from "./next-change-sql";

const CHUNK = 5_000;

/** Writes pending entry events for one segment; returns how many. */
export async function recordPendingEntries(db: Db, projectId: string, segmentId: string): Promise<number> {
  let total = 0;
  for (;;) {
    const props = JSON.stringify({ segmentId });
    const result = await sql<{ n: number }>`
      WITH batch AS (
        SELECT m.user_id, m.entered_at, ${entryMessageIdSql(segmentId)} AS message_id
        FROM segment_members m WHERE m.segment_id = ${segmentId} AND NOT m.entry_recorded
        ORDER BY m.user_id LIMIT ${CHUNK}
      ),
      timeline AS (
        INSERT INTO events (project_id, user_id, message_id, type, name, properties, occurred_at, processed_at)
        SELECT ${projectId}::uuid, user_id, message_id, 'system', '$segment_entered', ${props}::jsonb, entered_at, entered_at FROM batch
        ON CONFLICT DO NOTHING
      ),
      marked AS (
        UPDATE segment_members m SET entry_recorded = true FROM batch b
        WHERE m.segment_id = ${segmentId} AND m.user_id = b.user_id
        RETURNING 1
      )
      SELECT count(*) AS n FROM marked`.execute(db);
    const n = Number(result.rows[0]?.n ?? 0);
    total += n;
    if (n < CHUNK) return total;
  }
}

/**
 * Moves each user's next tick earlier where the conditions can change sooner, chunk by chunk from
 * `cursor` (the last user id done); `onChunk` records progress so a retry resumes.
 */
export async function scheduleTicksFor(
  db: Db,
  projectId: string,
  conditions: readonly Condition[],
  asOf: Date,
  cursor: number,
  onChunk: (lastUserId: number) => Promise<void>,
): Promise<number> {
  const next = nextChangeSql(conditions, asOf);
  if (!next) return 0;
  let after = cursor;
  let scheduled = 0;
  for (;;) {
    const result = await sql<{ last: number | null; n: number }>`
      WITH chunk AS (
        SELECT u.id FROM users u WHERE u.project_id = ${projectId} AND u.id > ${after} ORDER BY u.id LIMIT ${CHUNK}
      ),
      due AS (
        SELECT u.id, ${next} AS at FROM users u JOIN chunk USING (id)
      ),
      updated AS (
        UPDATE users u SET next_tick_at = due.at FROM due
        WHERE u.id = due.id AND due.at IS NOT NULL AND (u.next_tick_at IS NULL OR due.at < u.next_tick_at)
        RETURNING 1
      )
      SELECT (SELECT max(id) FROM chunk) AS last, (SELECT count(*) FROM updated) AS n`.execute(db);
    const row = result.rows[0]!;
    if (row.last === null) return scheduled;
    scheduled += Number(row.n);
    after = Number(row.last);
    await onChunk(after);
  }
}
