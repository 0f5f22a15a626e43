import { purgeHandovers, sweepDeliveries, sweepMaintenance, sweepPipeline } from "@nurture/backend";
import { closeMailer } from "./channels/mail-transport";
import { createRedis, DELIVERY_QUEUES, jobCatalog, QUEUE_NAMES, type QueueName } from "@nurture/jobs";
import { UnrecoverableError, Worker, type ConnectionOptions } from "bullmq";
import { takePipelineInProcess } from "./in-process-pipeline";
import { jobHandlers } from "./job-handlers";
import type { WorkerDeps } from "./worker-deps";

export interface RunningWorker {
  /** Stops taking jobs, lets active ones finish, then closes connections. */
  close(): Promise<void>;
  /** Runs the sweeper once now (tests). */
  sweep(): Promise<void>;
  /** Pipeline runs an API of this process handed over directly, not yet finished. */
  runningInProcess(): number;
}

export interface WorkerOptions {
  /** How often the sweeper looks for unprocessed events and due ticks; 0 disables it. */
  sweepIntervalMs?: number;
  concurrency?: number;
}

const isDelivery = (name: QueueName) => (DELIVERY_QUEUES as readonly QueueName[]).includes(name);

/**
 * A delivery holds a database connection from its last checks until its hand-over is recorded, so
 * the channels that wait on another server (SMTP, a webhook endpoint) get a bound of their own;
 * more emails at once than the SMTP pool can carry would only wait in it, holding connections.
 */
function concurrencyOf(name: QueueName, config: WorkerDeps["config"]): number {
  return name === "email" || name === "webhook" ? config.DELIVERY_CONCURRENCY : config.WORKER_CONCURRENCY;
}

export function startWorker(deps: WorkerDeps, options: WorkerOptions = {}): RunningWorker {
  const connection = createRedis(deps.config.REDIS_URL, "worker");
  const workers: Worker[] = [];
  /** Pipeline jobs from the queue being run, for the in-process intake's share of the slots. */
  let pipelineJobsRunning = 0;
  for (const name of QUEUE_NAMES) {
    const handler = jobHandlers[name];
    if (!handler) continue;
    const worker = new Worker(
      name,
      async (job) => {
        const parsed = jobCatalog[name as QueueName].safeParse(job.data);
        // A malformed payload will never succeed: fail it for good instead of retrying.
        if (!parsed.success) throw new UnrecoverableError(`invalid ${name} payload: ${parsed.error.message}`);
        const counted = name === "pipeline";
        if (counted) pipelineJobsRunning++;
        try {
          return await (handler as (d: WorkerDeps, p: unknown, j: typeof job) => Promise<unknown>)(deps, parsed.data, job);
        } finally {
          if (counted) pipelineJobsRunning--;
        }
      },
      {
        connection: connection as ConnectionOptions,
        prefix: deps.config.QUEUE_PREFIX,
        concurrency: options.concurrency ?? concurrencyOf(name, deps.config),
        // A worker killed mid-job has its job handed to another after about this long. Deliveries
        // are short, and what a dead worker was sending rolled back with its connection, so their
        // jobs are handed on sooner.
        ...(isDelivery(name) ? { lockDuration: 10_000, stalledInterval: 5_000 } : { lockDuration: 30_000, stalledInterval: 15_000 }),
        maxStalledCount: 3,
      },
    );
    worker.on("failed", (job, err) => deps.log.warn({ queue: name, jobId: job?.id, attempts: job?.attemptsMade, err }, "job failed"));
    worker.on("error", (err) => deps.log.error({ queue: name, err }, "worker error"));
    workers.push(worker);
  }
  // Pipeline work an API of this process hands over; a worker with no API beside it gets none.
  const inProcess = takePipelineInProcess(deps, { slots: options.concurrency ?? concurrencyOf("pipeline", deps.config), fromQueue: () => pipelineJobsRunning });

  const sweep = async () => {
    const result = await sweepPipeline({ db: deps.db, queues: deps.queues, now: deps.now, log: deps.log });
    if (result.unprocessedUsers + result.dueTicks > 0) deps.log.debug(result, "sweeper enqueued work");
    // Messages whose delivery job was lost (Redis outage) or whose worker died mid-send.
    const deliveries = await sweepDeliveries({ db: deps.db, queues: deps.queues, now: deps.now });
    deps.log.debug(deliveries, "delivery sweep");
    await purgeHandovers(deps.db, new Date(deps.now().getTime() - 3_600_000));
    // Maintenance tasks whose job Redis lost.
    const maintenance = await sweepMaintenance({ db: deps.db, queues: deps.queues, now: deps.now });
    if (maintenance.revived > 0) deps.log.info(maintenance, "maintenance jobs revived");
  };
  const interval = options.sweepIntervalMs ?? 10_000;
  let sweeping = false;
  const timer =
    interval > 0
      ? setInterval(() => {
          if (sweeping) return;
          sweeping = true;
          sweep()
            .catch((err) => deps.log.warn({ err }, "sweep failed; will retry"))
            .finally(() => (sweeping = false));
        }, interval)
      : undefined;

  return {
    sweep,
    runningInProcess: () => inProcess.running(),
    async close() {
      if (timer) clearInterval(timer);
      await inProcess.close();
      await Promise.all(workers.map((w) => w.close()));
      closeMailer(deps.config);
      connection.disconnect();
    },
  };
}
