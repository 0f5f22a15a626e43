import type { JobPayload, QueueName } from "@nurture/jobs";
import type { Job } from "bullmq";
import { deliveryJob } from "./jobs/delivery.job";
import { maintenanceJob } from "./jobs/maintenance.job";
import { pipelineJob } from "./jobs/pipeline.job";
import type { WorkerDeps } from "./worker-deps";

export type JobHandler<Q extends QueueName> = (deps: WorkerDeps, payload: JobPayload<Q>, job: Job) => Promise<unknown>;

/** One handler per queue of the job catalog; the type makes a missing one a compile error. */
export type JobHandlers = { [Q in QueueName]: JobHandler<Q> | null };

export const jobHandlers: JobHandlers = {
  pipeline: pipelineJob,
  email: deliveryJob,
  popup: deliveryJob,
  chat: deliveryJob,
  webhook: deliveryJob,
  maintenance: maintenanceJob,
};
