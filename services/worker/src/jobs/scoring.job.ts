import { runScoringJob } from "@nurture/backend";
import { UnrecoverableError } from "bullmq";
import type { JobHandler } from "../job-handlers";

/** recompute-scores / backfill-grades: progress lives in scoring_jobs (params.jobId), read by the API. */
export const scoringTask: JobHandler<"maintenance"> = async (deps, payload, job) => {
  const jobId = payload.params.jobId;
  if (typeof jobId !== "string") throw new UnrecoverableError(`${payload.task}: params.jobId missing`);
  const finalAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
  return runScoringJob({ db: deps.db, now: deps.now, log: deps.log.child({ jobId: job.id, task: payload.task }) }, jobId, { finalAttempt });
};
