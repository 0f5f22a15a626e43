import { describe, expect, it } from "vitest";
import { classifyResponse, parseRetryAfter, retryDelay } from "./browser/backoff";
import { createDelivery, type DeliveryEnv } from "./browser/delivery";
import { createEventQueue } from "./browser/event-queue";
import type { OutgoingMessage } from "./browser/messages";
import { createStore, memoryStorage } from "./browser/storage";

type Answer = number | "network" | { status: number; retryAfter: string };
interface SentBatch {
  writeKey: string;
  batch: OutgoingMessage[];
  sentAt: string;
}

/** The delivery loop against a scripted server and a hand-driven clock (no real waiting). */
function harness(answer: (batch: SentBatch) => Answer) {
  let now = 1_000_000;
  let online = true;
  let timers: Array<{ at: number; fn: () => void }> = [];
  const sent: SentBatch[] = [];
  const beacons: SentBatch[] = [];
  const warnings: string[] = [];
  let beaconAccepts = true;
  const env: DeliveryEnv = {
    async fetch(_url, init) {
      const body = JSON.parse(init.body) as SentBatch;
      sent.push(body);
      const a = answer(body);
      if (a === "network") throw new TypeError("Failed to fetch");
      const status = typeof a === "number" ? a : a.status;
      const retryAfter = typeof a === "number" ? null : a.retryAfter;
      return { status, headers: { get: (name: string) => (name === "Retry-After" ? retryAfter : null) } };
    },
    sendBeacon: (_url, body) => {
      if (beaconAccepts) beacons.push(JSON.parse(body) as SentBatch);
      return beaconAccepts;
    },
    setTimeout(fn, ms) {
      const timer = { at: now + ms, fn };
      timers.push(timer);
      return timer;
    },
    clearTimeout(handle) {
      timers = timers.filter((t) => t !== handle);
    },
    now: () => now,
    random: () => 0.5,
    isOnline: () => online,
    warn: (m) => void warnings.push(m),
  };
  const queue = createEventQueue(createStore(memoryStorage, "t."));
  const delivery = createDelivery({ url: "https://api.example/v1/batch", writeKey: "wk", queue, env, flushDelayMs: 500 });
  const settle = async () => {
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  };
  let seq = 0;
  return {
    delivery,
    queue,
    sent,
    beacons,
    warnings,
    enqueue(count = 1, id?: string) {
      for (let i = 0; i < count; i++) {
        queue.push({ type: "track", event: "e", messageId: id ?? `m${++seq}`, anonymousId: "a", context: {}, timestamp: "2025-01-01T00:00:00Z" });
      }
      delivery.schedule();
    },
    setOnline(value: boolean) {
      online = value;
    },
    refuseBeacons() {
      beaconAccepts = false;
    },
    /** Moves the clock forward, firing due timers in order. */
    async advance(ms: number) {
      const end = now + ms;
      for (;;) {
        await settle();
        const due = timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0];
        if (!due) break;
        timers = timers.filter((t) => t !== due);
        now = due.at;
        due.fn();
      }
      now = end;
      await settle();
    },
  };
}

const ids = (b: SentBatch) => b.batch.map((m) => m.messageId);

describe("delivery of queued events", () => {
  it("gathers events queued close together into one batch and forgets them once accepted", async () => {
    const h = harness(() => 200);
    h.enqueue(3);
    await h.advance(100);
    h.enqueue(2);
    expect(h.sent).toHaveLength(0);
    await h.advance(1000);
    expect(h.sent.map(ids)).toEqual([["m1", "m2", "m3", "m4", "m5"]]);
    expect(h.sent[0]?.writeKey).toBe("wk");
    expect(h.queue.size()).toBe(0);
  });

  it("resends the very same messages (same messageIds) with growing back-off after outages", async () => {
    let calls = 0;
    const h = harness(() => (++calls <= 3 ? (calls === 2 ? "network" : 503) : 200));
    h.enqueue(2);
    await h.advance(600);
    expect(h.sent).toHaveLength(1);
    await h.advance(1000); // first back-off: 750 ms (1 s with jitter 0.75 at random 0.5)
    expect(h.sent.length).toBeGreaterThanOrEqual(2);
    await h.advance(10_000);
    expect(h.sent).toHaveLength(4);
    expect(new Set(h.sent.map((b) => ids(b).join()))).toEqual(new Set(["m1,m2"]));
    expect(h.queue.size()).toBe(0);
  });

  it("waits as long as Retry-After asks when rate limited", async () => {
    let calls = 0;
    const h = harness(() => (++calls === 1 ? { status: 429, retryAfter: "30" } : 200));
    h.enqueue();
    await h.advance(600);
    await h.advance(29_000);
    expect(h.sent).toHaveLength(1);
    await h.advance(1_000);
    expect(h.sent).toHaveLength(2);
  });

  it("isolates a message the API refuses, drops only that one and delivers the rest", async () => {
    const h = harness((b) => (ids(b).includes("bad") ? 400 : 200));
    h.enqueue(3);
    h.enqueue(1, "bad");
    h.enqueue(4);
    await h.advance(5_000);
    const delivered = h.sent.filter((b) => !ids(b).includes("bad")).flatMap(ids);
    expect(delivered.sort()).toEqual(["m1", "m2", "m3", "m4", "m5", "m6", "m7"]);
    expect(h.queue.size()).toBe(0);
    expect(h.warnings.join()).toMatch(/refused a track message/);
  });

  it("stops sending, but keeps the events, when the write key is refused", async () => {
    const h = harness(() => 401);
    h.enqueue(2);
    await h.advance(60_000);
    expect(h.sent).toHaveLength(1);
    expect(h.queue.size()).toBe(2);
  });

  it("does not try while offline and sends as soon as the browser is back online", async () => {
    const h = harness(() => 200);
    h.setOnline(false);
    h.enqueue(2);
    await h.advance(3_000);
    expect(h.sent).toHaveLength(0);
    h.setOnline(true);
    h.delivery.online();
    await h.advance(1);
    expect(h.sent).toHaveLength(1);
  });

  it("hands everything to sendBeacon when the page goes away, in beacon-sized pieces", async () => {
    const h = harness(() => 200);
    for (let i = 0; i < 8; i++) {
      h.queue.push({ type: "track", event: "e", messageId: `b${i}`, anonymousId: "a", context: {}, properties: { x: "y".repeat(20_000) }, timestamp: "2025-01-01T00:00:00Z" });
    }
    h.delivery.flushBeacon();
    expect(h.beacons.length).toBeGreaterThanOrEqual(3);
    for (const beacon of h.beacons) expect(JSON.stringify(beacon).length).toBeLessThanOrEqual(60 * 1024);
    expect(h.beacons.flatMap(ids)).toEqual(["b0", "b1", "b2", "b3", "b4", "b5", "b6", "b7"]);
    expect(h.queue.size()).toBe(0);
    expect(h.sent).toHaveLength(0);
  });

  it("keeps events queued for the next page view when the browser refuses the beacon", () => {
    const h = harness(() => 200);
    h.refuseBeacons();
    h.queue.push({ type: "track", event: "e", messageId: "x", anonymousId: "a", context: {}, timestamp: "2025-01-01T00:00:00Z" });
    h.delivery.flushBeacon();
    expect(h.queue.size()).toBe(1);
  });
});

describe("back-off rules", () => {
  it("doubles up to a ceiling, with jitter between half and the full delay", () => {
    expect(retryDelay(0, 0)).toBe(500);
    expect(retryDelay(0, 1)).toBe(1000);
    expect(retryDelay(3, 1)).toBe(8000);
    expect(retryDelay(50, 1)).toBe(5 * 60_000);
  });

  it("reads Retry-After as seconds or as a date", () => {
    expect(parseRetryAfter("7", 0)).toBe(7000);
    expect(parseRetryAfter(new Date(60_000).toUTCString(), 0)).toBe(60_000);
    expect(parseRetryAfter("soon", 0)).toBeNull();
    expect(parseRetryAfter(null, 0)).toBeNull();
  });

  it.each([
    [200, "ok"],
    [null, "retry"],
    [429, "retry"],
    [503, "retry"],
    [400, "reject"],
    [413, "reject"],
    [401, "stop"],
    [403, "stop"],
  ] as const)("HTTP %s means %s", (status, kind) => {
    expect(classifyResponse(status, null).kind).toBe(kind);
  });
});
