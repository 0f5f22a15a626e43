export { startWorker, type RunningWorker, type WorkerOptions } from "./worker";
export type { WorkerDeps } from "./worker-deps";
export { jobHandlers, type JobHandler } from "./job-handlers";
export { createDeliveryPools, type DeliveryPools } from "./delivery-pools";
export { noDelaySocket } from "./channels/mail-transport";
