import { classifyResponse, parseRetryAfter, retryDelay } from "./backoff";
import type { EventQueue } from "./event-queue";
import { batchBody } from "./messages";

/** Browsers cap a beacon (and keepalive fetches in flight) at 64 KiB. */
export const BEACON_MAX_BYTES = 60 * 1024;
export const BATCH_MAX_MESSAGES = 50;

export interface FetchResponseLike {
  status: number;
  headers: { get(name: string): string | null };
}

/** Everything the sender needs from the browser, injected so its decisions are testable in node. */
export interface DeliveryEnv {
  fetch(url: string, init: { method: string; body: string; headers: Record<string, string>; credentials: "omit"; keepalive: boolean; mode: "cors" }): Promise<FetchResponseLike>;
  sendBeacon: ((url: string, body: string) => boolean) | null;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  now(): number;
  random(): number;
  isOnline(): boolean;
  warn(message: string): void;
}

export interface DeliveryOptions {
  url: string;
  writeKey: string;
  queue: EventQueue;
  env: DeliveryEnv;
  /** How long to gather events into one request after the first is queued. */
  flushDelayMs: number;
  /** Called after a batch was accepted (the widget then looks for messages it may have triggered). */
  onDelivered?: () => void;
}

export interface Delivery {
  /** Sends what is queued soon (after the batching delay, or when a back-off ends). */
  schedule(): void;
  /** Sends now unless backing off; resolves when this round is over. */
  flush(): Promise<void>;
  /** The page is going away: hand everything queued to `navigator.sendBeacon`. */
  flushBeacon(): void;
  /** The network came back: retry without waiting for the back-off. */
  online(): void;
}

/**
 * Delivers queued messages in batches, one request at a time: a message leaves the queue only once
 * the API answered 2xx (it commits before answering), so a lost response means a resend with the
 * same messageId, which the API deduplicates.
 */
export function createDelivery(options: DeliveryOptions): Delivery {
  const { url, writeKey, queue, env, flushDelayMs } = options;
  const inflight: Record<string, boolean> = {};
  let timer: unknown = null;
  let timerAt = Infinity;
  let sending = false;
  let stopped = false;
  let attempt = 0;
  let retryAt = 0;
  let limit = BATCH_MAX_MESSAGES;

  const arm = (delayMs: number): void => {
    const at = env.now() + delayMs;
    if (timer !== null && timerAt <= at) return;
    if (timer !== null) env.clearTimeout(timer);
    timerAt = at;
    timer = env.setTimeout(() => {
      timer = null;
      timerAt = Infinity;
      flush().then(undefined, (error) => env.warn(`nurture: delivery failed: ${String(error)}`));
    }, delayMs);
  };

  const backOff = (afterMs: number | null): void => {
    const delay = afterMs ?? retryDelay(attempt, env.random());
    attempt++;
    retryAt = env.now() + delay;
    arm(delay);
  };

  async function flush(): Promise<void> {
    if (stopped || sending) return;
    const wait = retryAt - env.now();
    if (wait > 0) return arm(wait);
    if (!env.isOnline()) return backOff(null); // the "online" event usually comes first
    const batch = queue.take(limit, BEACON_MAX_BYTES, inflight);
    if (batch.length === 0) return;
    const ids = batch.map((m) => m.messageId);
    for (const id of ids) inflight[id] = true;
    sending = true;
    let status: number | null = null;
    let retryAfter: number | null = null;
    try {
      const response = await env.fetch(url, {
        method: "POST",
        body: batchBody(writeKey, batch, new Date(env.now())),
        // text/plain keeps this a "simple" cross-origin request: no CORS preflight round trip
        headers: { "Content-Type": "text/plain" },
        credentials: "omit",
        keepalive: true,
        mode: "cors",
      });
      status = response.status;
      retryAfter = parseRetryAfter(response.headers.get("Retry-After"), env.now());
    } catch {
      status = null; // offline, DNS, CORS, connection reset: all worth retrying
    } finally {
      sending = false;
      for (const id of ids) delete inflight[id];
    }
    const outcome = classifyResponse(status, retryAfter);
    switch (outcome.kind) {
      case "ok":
        queue.remove(ids);
        attempt = 0;
        retryAt = 0;
        limit = Math.min(BATCH_MAX_MESSAGES, limit * 2);
        if (options.onDelivered) options.onDelivered();
        if (queue.size() > 0) arm(0);
        return;
      case "retry":
        return backOff(outcome.afterMs);
      case "reject":
        if (batch.length > 1) {
          // one bad message must not hold the others hostage: halve until it is alone
          limit = Math.ceil(batch.length / 2);
        } else {
          queue.remove(ids);
          env.warn(`nurture: the API refused a ${batch[0]?.type} message (HTTP ${status}); it was dropped`);
        }
        return arm(0);
      case "stop":
        stopped = true;
        env.warn(`nurture: the API refused the write key (HTTP ${status}); events stay queued`);
        return;
    }
  }

  return {
    schedule() {
      if (!stopped) arm(Math.max(flushDelayMs, retryAt - env.now()));
    },
    flush,
    flushBeacon() {
      if (stopped || !env.sendBeacon || !env.isOnline()) return;
      const handedOver: Record<string, boolean> = {};
      for (;;) {
        // in-flight messages go too: the page's fetches may die with it; duplicates are deduplicated
        const batch = queue.take(BATCH_MAX_MESSAGES, BEACON_MAX_BYTES, handedOver);
        if (batch.length === 0) return;
        const ids = batch.map((m) => m.messageId);
        let accepted = false;
        try {
          accepted = env.sendBeacon(url, batchBody(writeKey, batch, new Date(env.now())));
        } catch {
          accepted = false;
        }
        if (!accepted) return; // stays queued for the next page view
        queue.remove(ids);
        for (const id of ids) handedOver[id] = true;
      }
    },
    online() {
      retryAt = 0;
      attempt = 0;
      arm(0);
    },
  };
}
