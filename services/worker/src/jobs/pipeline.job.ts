import { processUser } from "@nurture/backend";
import type { JobHandler } from "../job-handlers";

/** Runs the rule engine for each user of the job; idempotent, so redelivery and duplicates are harmless. */
export const pipelineJob: JobHandler<"pipeline"> = async (deps, payload, job) => {
  const pipelineDeps = { db: deps.db, queues: deps.queues, now: deps.now, log: deps.log.child({ jobId: job.id }) };
  let processed = 0;
  for (const userId of payload.userIds) processed += (await processUser(pipelineDeps, payload.projectId, userId)).processed;
  return { processed };
};
