import { inboxSignal, inboxSignalChannel, inboxSignalKey, parseInboxSignal, type Queues } from "@nurture/jobs";
import type { Redis } from "ioredis";
import type { Logger } from "pino";

export interface InboxWaiters {
  /**
   * Resolves when the user's inbox is signalled, after `ms`, or when `abort` fires, whichever comes
   * first; with the messages the signal brought, if it brought some. With no user (a visitor
   * without a card yet) only the time or the abort ends it. `since` (performance.now()) is when
   * the look that found the inbox empty began: a signal heard since then ends the wait at once
   * (without messages: the caller looks again), so a message committed while that look was on its
   * way is not left for the next one.
   */
  wait(projectId: string, userId: number | null, ms: number, abort: AbortSignal, since?: number): Promise<readonly unknown[] | undefined>;
  /** How many requests are waiting now. */
  count(): number;
  /** Ends every wait now (shutdown) and stops listening. */
  close(): void;
}

/**
 * How long a signal is remembered for a request whose look was still on its way when it came: far
 * longer than a look takes, even on a struggling database.
 */
const RECENT_MS = 10_000;

/**
 * Widget requests waiting for a visitor's inbox, woken by the signals the worker publishes after
 * putting a message there (see inbox-signals). One subscriber connection per API process, opened
 * on the first wait; it reconnects and resubscribes on its own after a Redis outage, during which
 * waits simply run out their time. A worker in this same process is heard directly, without the
 * trip through Redis: two hops fewer between the popup's commit and the widget's answer. Redis
 * then brings the same signal back, which is dropped: it would wake a request that looked after
 * the message was already there.
 */
export function createInboxWaiters(redis: Redis, queues: Pick<Queues, "onInboxSignal">, prefix: string, log: Logger): InboxWaiters {
  type Wake = (messages?: readonly unknown[]) => void;
  const waiting = new Map<string, Set<Wake>>();
  const all = new Set<Wake>();
  let subscriber: Redis | undefined;
  /** When each user's last signal in the last RECENT_MS was heard, oldest first. */
  const recent = new Map<string, number>();
  /** This process's own signals, as Redis will bring them back, with when they were heard. */
  const echoes = new Map<string, number>();
  const forget = (heard: Map<string, number>, now: number) => {
    for (const [old, at] of heard) {
      if (at > now - RECENT_MS) break;
      heard.delete(old);
    }
  };
  const wakeAll = (key: string, messages: readonly unknown[] | undefined) => {
    const now = performance.now();
    recent.delete(key);
    recent.set(key, now);
    forget(recent, now);
    forget(echoes, now);
    for (const wake of [...(waiting.get(key) ?? [])]) wake(messages);
  };
  const stopHearing = queues.onInboxSignal((key, messages) => {
    if (subscriber) {
      const text = inboxSignal(key, messages);
      echoes.delete(text);
      echoes.set(text, performance.now());
    }
    wakeAll(key, messages);
  });

  const listen = () => {
    if (subscriber) return;
    // Subscribing waits for a connection instead of failing as the producer's commands do.
    subscriber = redis.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null });
    subscriber.on("error", () => {});
    subscriber.on("message", (_channel: string, text: string) => {
      if (echoes.delete(text)) return;
      const { key, messages } = parseInboxSignal(text);
      wakeAll(key, messages);
    });
    subscriber.subscribe(inboxSignalChannel(prefix)).catch((err) => log.warn({ err }, "inbox signals not subscribed; waiting widget requests look again on their own"));
  };

  return {
    wait(projectId, userId, ms, abort, since) {
      if (abort.aborted) return Promise.resolve(undefined);
      if (userId !== null) listen();
      const key = userId === null ? null : inboxSignalKey(projectId, userId);
      const heardAt = key !== null ? recent.get(key) : undefined;
      if (heardAt !== undefined && since !== undefined && heardAt >= since) return Promise.resolve(undefined);
      return new Promise((resolve) => {
        const done: Wake = (messages) => {
          clearTimeout(timer);
          abort.removeEventListener("abort", aborted);
          all.delete(done);
          if (key !== null) {
            const set = waiting.get(key);
            set?.delete(done);
            if (set?.size === 0) waiting.delete(key);
          }
          resolve(messages);
        };
        const timer = setTimeout(() => done(), ms);
        const aborted = () => done();
        abort.addEventListener("abort", aborted, { once: true });
        all.add(done);
        if (key !== null) {
          const set = waiting.get(key) ?? new Set();
          set.add(done);
          waiting.set(key, set);
        }
      });
    },
    count: () => all.size,
    close() {
      stopHearing();
      for (const wake of [...all]) wake();
      subscriber?.disconnect();
      subscriber = undefined;
    },
  };
}
