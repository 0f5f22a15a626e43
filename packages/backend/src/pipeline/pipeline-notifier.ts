import type { Queues } from "@nurture/jobs";
import type { Logger } from "pino";
import { enqueueUsers } from "./scheduling";

export interface PipelineNotifier {
  /** Users whose events just committed; their pipeline jobs go out within `intervalMs`. */
  notify(projectId: string, userIds: readonly number[]): void;
  /** Sends what is pending now (shutdown, tests). */
  flush(): Promise<void>;
}

/**
 * Coalesces the API's "process these users" signals, so a burst of batches about the same visitors
 * costs Redis one job per group of users instead of one per request: a signal goes out at once
 * when none went out in the last `intervalMs` (a quiet site waits for nothing), otherwise with the
 * next flush. Losing a pending signal (crash, Redis down) loses nothing: the events sit unprocessed
 * in PostgreSQL and the sweeper enqueues them.
 */
export function createPipelineNotifier(queues: Queues, log: Logger, intervalMs = 10): PipelineNotifier {
  let pending = new Map<string, Set<number>>();
  /** Cancels the flush that is due, if one is. */
  let cancelDue: (() => void) | undefined;
  let lastFlush = 0;
  const flush = async () => {
    cancelDue?.();
    cancelDue = undefined;
    lastFlush = Date.now();
    const batch = pending;
    pending = new Map();
    if (batch.size === 0) return;
    // BullMQ waits for Redis to come back rather than failing; the sweeper covers an outage instead.
    if (!queues.ready()) {
      log.warn({ projects: batch.size }, "Redis unavailable: pipeline signals left to the sweeper");
      return;
    }
    await Promise.all(
      [...batch].map(([projectId, ids]) =>
        enqueueUsers(queues, projectId, [...ids]).catch((err) => log.warn({ err, projectId }, "pipeline enqueue failed; the sweeper will enqueue it")),
      ),
    );
  };
  return {
    notify(projectId, userIds) {
      const set = pending.get(projectId) ?? new Set<number>();
      for (const id of userIds) set.add(id);
      pending.set(projectId, set);
      if (cancelDue) return;
      // Due now: once the microtasks queued so far have run (the other requests answered by the
      // same commit get here in them), in the same turn of the event loop as the answers. On
      // setImmediate it waited for whatever else that turn's I/O brought, a busy process's
      // third of a millisecond or more.
      const delay = lastFlush + intervalMs - Date.now();
      if (delay <= 0) {
        let cancelled = false;
        queueMicrotask(() => {
          if (!cancelled) void flush();
        });
        cancelDue = () => {
          cancelled = true;
        };
      } else {
        const due = setTimeout(() => void flush(), delay);
        cancelDue = () => clearTimeout(due);
      }
    },
    flush,
  };
}
