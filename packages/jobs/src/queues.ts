import { Queue, type ConnectionOptions, type JobsOptions } from "bullmq";
import { Redis } from "ioredis";
import { inboxSignal, inboxSignalChannel, inboxSignalKey } from "./inbox-signals";
import { jobCatalog, QUEUE_NAMES, type JobPayload, type QueueName } from "./job-catalog";

export interface QueueSettings {
  redisUrl: string;
  /** Key prefix; tests use a unique one per file. */
  prefix: string;
}

/**
 * BullMQ needs `maxRetriesPerRequest: null` on worker connections; producers keep a bound so an
 * API request never hangs on a dead Redis (ingestion has already committed and does not need it).
 */
export function createRedis(url: string, role: "producer" | "worker"): Redis {
  const redis = new Redis(url, {
    maxRetriesPerRequest: role === "worker" ? null : 1,
    enableOfflineQueue: role === "worker",
    retryStrategy: (times) => Math.min(times * 200, 2_000),
    lazyConnect: false,
  });
  // Connection errors are retried by ioredis; readiness is reported by /health, not by crashing.
  redis.on("error", () => {});
  return redis;
}

export const defaultJobOptions: JobsOptions = {
  attempts: 8,
  backoff: { type: "exponential", delay: 1_000 },
  // Completed ids are kept for an hour so a re-enqueue of the same deterministic jobId is a no-op.
  removeOnComplete: { age: 3_600, count: 50_000 },
  removeOnFail: { age: 7 * 24 * 3_600 },
};

export type InboxSignalListener = (key: string, messages: readonly unknown[] | undefined) => void;

/** Takes a job handed over in-process, or answers false (no room now) and the caller enqueues it. */
export type InProcessTaker<Q extends QueueName> = (payload: JobPayload<Q>) => boolean;

export interface Queues {
  add<Q extends QueueName>(queue: Q, payload: JobPayload<Q>, options?: JobsOptions): Promise<void>;
  get(queue: QueueName): Queue;
  /** False while Redis is unreachable: callers with a durable fallback skip enqueueing. */
  ready(): boolean;
  /** Tells waiting widget requests that the user's inbox changed, with the new messages if known (see inbox-signals). */
  signalInbox(projectId: string, userId: number, messages?: readonly unknown[]): Promise<void>;
  /**
   * Hears this process's own inbox signals the moment they are sent, ahead of their trip through
   * Redis (an API running beside the worker, as `npm start` runs them); returns the unsubscribe.
   */
  onInboxSignal(listener: InboxSignalListener): () => void;
  /**
   * Hands a job straight to a worker of this process when one has room, skipping its trip
   * through Redis (an API beside the worker, as `npm start` runs them); false when none took it,
   * and the caller enqueues it as usual.
   */
  runInProcess<Q extends QueueName>(queue: Q, payload: JobPayload<Q>): boolean;
  /** A worker of this process takes `queue`'s in-process jobs (the first with room does); returns the unregister. */
  onInProcessJob<Q extends QueueName>(queue: Q, taker: InProcessTaker<Q>): () => void;
  close(): Promise<void>;
}

export function createQueues(settings: QueueSettings, connection?: Redis): Queues {
  const redis = connection ?? createRedis(settings.redisUrl, "producer");
  const queues = new Map<QueueName, Queue>(
    QUEUE_NAMES.map((name) => [
      name,
      new Queue(name, { connection: redis as ConnectionOptions, prefix: settings.prefix, defaultJobOptions }),
    ]),
  );
  const get = (name: QueueName) => {
    const queue = queues.get(name);
    if (!queue) throw new Error(`unknown queue ${name}`);
    return queue;
  };
  const local = new Set<InboxSignalListener>();
  const takers = new Map<QueueName, Set<InProcessTaker<never>>>();
  return {
    get,
    ready: () => redis.status === "ready",
    async signalInbox(projectId, userId, messages) {
      const key = inboxSignalKey(projectId, userId);
      // Heard here first; Redis brings the same signal back to this process's subscriber a round
      // trip later, and a listener that also subscribes drops that echo.
      for (const listener of local) listener(key, messages);
      await redis.publish(inboxSignalChannel(settings.prefix), inboxSignal(key, messages));
    },
    onInboxSignal(listener) {
      local.add(listener);
      return () => local.delete(listener);
    },
    runInProcess(queue, payload) {
      // No parse, unlike add: the payload is typed and never leaves the process.
      for (const taker of (takers.get(queue) ?? []) as Iterable<InProcessTaker<typeof queue>>) if (taker(payload)) return true;
      return false;
    },
    onInProcessJob(queue, taker) {
      const here = takers.get(queue) ?? new Set();
      here.add(taker as InProcessTaker<never>);
      takers.set(queue, here);
      return () => here.delete(taker as InProcessTaker<never>);
    },
    async add(queue, payload, options) {
      const data = jobCatalog[queue].parse(payload);
      await get(queue).add(queue, data, options);
    },
    async close() {
      await Promise.all([...queues.values()].map((q) => q.close()));
      if (!connection) redis.disconnect();
    },
  };
}
