import type { DbOrTrx } from "@nurture/db";
import { sql } from "kysely";

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
 * The pipeline already holds the user's row when it gets here, and a rebuild needs key-share locks on
 * users rows for its foreign keys, so waiting could deadlock: the pipeline only tries, and a run that
 * meets a rebuild fails and is retried by the queue a moment later.
 */
export async function tryLockSegmentsForPipeline(trx: DbOrTrx, projectId: string): Promise<boolean> {
  const row = await sql<{ ok: boolean }>`SELECT pg_try_advisory_xact_lock_shared(${key(projectId)}) AS ok`.execute(trx);
  return row.rows[0]?.ok === true;
}
