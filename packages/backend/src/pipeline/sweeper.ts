import { sql } from "kysely";
import type { PipelineDeps } from "./process-user";
import { chunkUsers } from "./scheduling";

export interface SweepResult {
  unprocessedUsers: number;
  dueTicks: number;
}

/**
 * The safety net behind the direct enqueue: users with events still unprocessed a few seconds
 * after they were stored whose job is gone (Redis was down, a process died) and users whose time
 * tick is due.
 * Reads two small partial indexes, never the whole users table.
 */
export async function sweepPipeline(deps: PipelineDeps, options: { graceMs?: number; limit?: number } = {}): Promise<SweepResult> {
  const now = deps.now();
  const graceMs = options.graceMs ?? 5_000;
  const limit = options.limit ?? 5_000;
  // Under a backlog, events stored after the oldest waiting job was created still have their job,
  // just later: sweeping them would only add jobs that find nothing to do. Older ones lost theirs
  // (or are in a job running now). The second of slack covers commit and signal delays.
  const oldestWaiting = await deps.queues.get("pipeline").getJobs(["waiting"], 0, 0, true);
  const cutoff = new Date(Math.min(now.getTime() - graceMs, ...oldestWaiting.map((j) => j.timestamp - 1_000)));
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
  const byProject = new Map<string, Set<number>>();
  for (const r of [...unprocessed.rows, ...due]) {
    const set = byProject.get(r.project_id) ?? new Set<number>();
    set.add(r.user_id);
    byProject.set(r.project_id, set);
  }
  // Deterministic job ids per group and 30 s: repeated sweeps while a job waits add nothing.
  const bucket = Math.floor(now.getTime() / 30_000);
  const jobs = [...byProject].flatMap(([projectId, ids]) =>
    chunkUsers([...ids].sort((a, b) => a - b)).map((userIds) => ({
      name: "pipeline",
      data: { projectId, userIds },
      opts: { jobId: `sweep-${bucket}-${userIds[0]}-${userIds.length}` },
    })),
  );
  if (jobs.length > 0) await deps.queues.get("pipeline").addBulk(jobs);
  return { unprocessedUsers: unprocessed.rows.length, dueTicks: due.length };
}
