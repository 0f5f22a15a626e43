import { UnrecoverableError } from "bullmq";
import type { JobHandler } from "../job-handlers";
import { scoringTask } from "./scoring.job";
import { segmentsTask } from "./segments.job";

/** Project-wide tasks on the maintenance queue, one line per task (features add theirs). */
const tasks: Record<string, JobHandler<"maintenance">> = {
  "recompute-scores": scoringTask,
  "backfill-grades": scoringTask,
  "segment-followup": segmentsTask,
  "lifecycle-backfill": segmentsTask,
};

export const maintenanceJob: JobHandler<"maintenance"> = async (deps, payload, job) => {
  const task = tasks[payload.task];
  // An unknown task will never succeed: fail it for good instead of retrying.
  if (!task) throw new UnrecoverableError(`unknown maintenance task ${payload.task}`);
  return task(deps, payload, job);
};
