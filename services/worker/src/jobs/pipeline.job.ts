import { processUser } from "@nurture/backend";
import type { JobHandler } from "../job-handlers";

/** Runs the rule engine for one user; idempotent, so redelivery and duplicates are harmless. */
export const pipelineJob: JobHandler<"pipeline"> = async (deps, payload, job) =>
  processUser({ db: deps.db, queues: deps.queues, now: deps.now, log: deps.log.child({ jobId: job.id }) }, payload.projectId, payload.userId);
