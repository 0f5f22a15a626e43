import { sql } from "kysely";
import type { PipelineDeps } from "./process-user";

export interface SweepResult {
  unprocessedUsers: number;
  dueTicks: number;
}

/**
 * The safety net behind the direct enqueue: users with events still unprocessed a few seconds
 * after they were stored (Redis was down, a process died) and users whose time tick is due.
 * Reads two small partial indexes, never the whole users table.
 */
export async function sweepPipeline(deps: PipelineDeps, options: { graceMs?: number; limit?: number } = {}): Promise<SweepResult> {
  const now = deps.now();
  const graceMs = options.graceMs ?? 5_000;
  const limit = options.limit ?? 5_000;
  const cutoff = new Date(now.getTime() - graceMs);
  const [unprocessed, due] = await Promise.all([
    sql<{ project_id: string; user_id: number }>`
      SELECT DISTINCT project_id, user_id FROM (
        SELECT project_id, user_id FROM events WHERE processed_at IS NULL AND received_at <= ${cutoff} LIMIT ${limit * 10}
      ) AS pending LIMIT ${limit}`.execute(deps.db),
    deps.db
      .selectFrom("users")
      .select(["project_id", "id as user_id"])
      .where("next_tick_at", "<=", now)
      .limit(limit)
      .execute(),
  ]);
  // One job id per user per 30 s: repeated sweeps while a job waits add nothing.
  const bucket = Math.floor(now.getTime() / 30_000);
  const jobs = [...unprocessed.rows, ...due].map((r) => ({
    name: "pipeline",
    data: { projectId: r.project_id, userId: r.user_id },
    opts: { jobId: `sweep-${r.user_id}-${bucket}` },
  }));
  if (jobs.length > 0) await deps.queues.get("pipeline").addBulk(jobs);
  return { unprocessedUsers: unprocessed.rows.length, dueTicks: due.length };
}
