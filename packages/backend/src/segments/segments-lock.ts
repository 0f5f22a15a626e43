import type { DbOrTrx } from "@nurture/db";
import { sql, type RawBuilder } from "kysely";

/**
 * Saving a segment (counters and membership rebuilt set-based) and the pipeline (counters and
 * membership kept per user) must not interleave, or an event is counted twice or not at all.
 * Saves take this per-project lock exclusively; pipeline runs take it shared.
 */
const key = (projectId: string) => sql`hashtextextended(${`nurture:segments:${projectId}`}, 0)`;

export async function lockSegmentsForRebuild(trx: DbOrTrx, projectId: string): Promise<void> {
  await sql`SELECT pg_advisory_xact_lock(${key(projectId)})`.execute(trx);
}

/**
 * The shared side, as an expression the pipeline evaluates in the statement that locks the user's
 * row (one round trip for both). A rebuild needs key-share locks on users rows for its foreign
 * keys, so waiting here could deadlock: the pipeline only tries, and a run that meets a rebuild
 * fails and is retried by the queue a moment later.
 */
export function tryLockSegmentsShared(projectId: string): RawBuilder<boolean> {
  return sql<boolean>`pg_try_advisory_xact_lock_shared(${key(projectId)})`;
}
