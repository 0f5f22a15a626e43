import { processUser, SegmentsRebuildingError } from "@nurture/backend";
import type { JobPayload } from "@nurture/jobs";
import type { Logger } from "pino";
import type { JobHandler } from "../job-handlers";
import type { WorkerDeps } from "../worker-deps";

/** How long a user waits while the project's segments are being rebuilt (a segment was saved). */
const REBUILD_WAIT_MS = 1_000;

/**
 * Runs the rule engine for each user of a group; idempotent, so redelivery and duplicates are
 * harmless. Users whose project is rebuilding its segments right now go into a delayed job of
 * their own instead of failing the whole group: that is expected, not an error.
 */
export async function runPipeline(deps: WorkerDeps, payload: JobPayload<"pipeline">, log: Logger): Promise<{ processed: number; deferred: number }> {
  const pipelineDeps = { db: deps.db, queues: deps.queues, now: deps.now, log };
  let processed = 0;
  const deferred: number[] = [];
  for (const userId of payload.userIds) {
    try {
      processed += (await processUser(pipelineDeps, payload.projectId, userId)).processed;
    } catch (err) {
      if (!(err instanceof SegmentsRebuildingError)) throw err;
      deferred.push(userId);
    }
  }
  if (deferred.length > 0) {
    log.debug({ users: deferred.length }, "segments are being rebuilt; these users run again shortly");
    // If this add fails the group fails and is retried whole, which is just as correct.
    await deps.queues.add("pipeline", { projectId: payload.projectId, userIds: deferred }, { delay: REBUILD_WAIT_MS });
  }
  return { processed, deferred: deferred.length };
}

export const pipelineJob: JobHandler<"pipeline"> = (deps, payload, job) =>
  runPipeline(deps, payload, deps.log.child({ jobId: job.id, projectId: payload.projectId }));
