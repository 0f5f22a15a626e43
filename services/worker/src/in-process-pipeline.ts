import type { JobPayload } from "@nurture/jobs";
import { runPipeline } from "./jobs/pipeline.job";
import type { WorkerDeps } from "./worker-deps";

export interface InProcessPipeline {
  /** Runs taken and not yet finished. */
  running(): number;
  /** Takes no more, and waits for the runs it took. */
  close(): Promise<void>;
}

export interface InProcessOptions {
  /** Pipeline runs this process does at once, in-process and from the queue together. */
  slots: number;
  /** Runs of this process's queue worker now. */
  fromQueue?: () => number;
  run?: typeof runPipeline;
}

/**
 * Takes the pipeline work an API of this process hands over (see Queues.runInProcess) while the
 * process has a slot free; otherwise the API enqueues it in Redis as usual. The slots are shared
 * with the queue's worker: runs on top of its concurrency would take the database connections
 * ingestion needs, and a burst was accepted more slowly than one through the queue alone. A run
 * that fails goes to the queue, for its retries and backoff; if even that fails, the events are
 * still unprocessed in PostgreSQL and the sweeper enqueues them.
 */
export function takePipelineInProcess(deps: WorkerDeps, options: InProcessOptions): InProcessPipeline {
  const { slots, fromQueue = () => 0, run = runPipeline } = options;
  const active = new Set<Promise<void>>();
  let seq = 0;
  const take = (payload: JobPayload<"pipeline">): boolean => {
    if (active.size + fromQueue() >= slots) return false;
    const log = deps.log.child({ jobId: `in-process-${++seq}`, projectId: payload.projectId });
    const done: Promise<void> = run(deps, payload, log)
      .then(
        () => undefined,
        async (err: unknown) => {
          log.warn({ err }, "in-process pipeline run failed; enqueued for retries");
          await deps.queues.add("pipeline", payload).catch((enqueueErr: unknown) => log.warn({ err: enqueueErr }, "pipeline enqueue failed; the sweeper will enqueue it"));
        },
      )
      .finally(() => active.delete(done));
    active.add(done);
    return true;
  };
  const unregister = deps.queues.onInProcessJob("pipeline", take);
  return {
    running: () => active.size,
    async close() {
      unregister();
      await Promise.all(active);
    },
  };
}
