import { runSegmentTask } from "@nurture/backend";
import { UnrecoverableError } from "bullmq";
import type { JobHandler } from "../job-handlers";

/** segment-followup / lifecycle-backfill: progress lives in segment_tasks (params.taskId). */
export const segmentsTask: JobHandler<"maintenance"> = async (deps, payload, job) => {
  const taskId = payload.params.taskId;
  if (typeof taskId !== "string") throw new UnrecoverableError(`${payload.task}: params.taskId missing`);
  const finalAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
  return runSegmentTask({ db: deps.db, now: deps.now, log: deps.log.child({ jobId: job.id, task: payload.task }) }, taskId, { finalAttempt });
};
