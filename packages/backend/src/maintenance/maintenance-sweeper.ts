import type { Db } from "@nurture/db";
import type { Queues } from "@nurture/jobs";
import { unfinishedScoringJobs } from "../scoring/scoring-jobs";
import { unfinishedSegmentTasks } from "../segments/segment-tasks";

/**
 * Long project-wide tasks (score recompute, grade backfill, segment follow-ups) keep their state
 * and progress cursor in PostgreSQL; their BullMQ job only drives them. A job Redis lost (an outage,
 * a restart without persistence) is put back under its deterministic id, and the task resumes
 * from its cursor. A job that exists in any state is left alone: one that failed for good was
 * already recorded as failed or is revived when the task is started again.
 */
export async function sweepMaintenance(deps: { db: Db; queues: Queues; now: () => Date }, options: { graceMs?: number } = {}): Promise<{ revived: number }> {
  const before = new Date(deps.now().getTime() - (options.graceMs ?? 30_000));
  const unfinished = [...(await unfinishedScoringJobs(deps.db, before)), ...(await unfinishedSegmentTasks(deps.db, before))];
  const queue = deps.queues.get("maintenance");
  let revived = 0;
  for (const { jobId, payload } of unfinished) {
    if (await queue.getJob(jobId)) continue;
    await deps.queues.add("maintenance", payload, { jobId });
    revived += 1;
  }
  return { revived };
}
