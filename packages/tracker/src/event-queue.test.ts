import { describe, expect, it } from "vitest";
import { createEventQueue, MESSAGE_MAX_BYTES } from "./browser/event-queue";
import type { OutgoingMessage } from "./browser/messages";
import { createStore, memoryStorage } from "./browser/storage";

const message = (id: string, extra: Partial<OutgoingMessage> = {}): OutgoingMessage => ({
  type: "track",
  event: "viewed",
  messageId: id,
  anonymousId: "anon",
  context: {},
  timestamp: "2025-01-01T00:00:00.000Z",
  ...extra,
});

describe("the persistent event queue", () => {
  it("hands out messages oldest first and forgets only the ones confirmed", () => {
    const queue = createEventQueue(createStore(memoryStorage, "t."));
    for (const id of ["a", "b", "c"]) queue.push(message(id));
    const batch = queue.take(2, 60_000, {});
    expect(batch.map((m) => m.messageId)).toEqual(["a", "b"]);
    queue.remove(["a"]);
    expect(queue.take(10, 60_000, {}).map((m) => m.messageId)).toEqual(["b", "c"]);
  });

  it("skips messages already in flight", () => {
    const queue = createEventQueue(createStore(memoryStorage, "t."));
    for (const id of ["a", "b", "c"]) queue.push(message(id));
    expect(queue.take(10, 60_000, { a: true, b: true }).map((m) => m.messageId)).toEqual(["c"]);
  });

  it("is shared through storage, as two tabs of a site share localStorage", () => {
    const backing = memoryStorage();
    const tabA = createEventQueue(createStore(() => backing, "t."));
    const tabB = createEventQueue(createStore(() => backing, "t."));
    tabA.push(message("a"));
    tabB.push(message("b"));
    tabA.remove(["b"]);
    expect(tabB.take(10, 60_000, {}).map((m) => m.messageId)).toEqual(["a"]);
  });

  it("keeps the newest messages when the site stays unreachable for very long", () => {
    const queue = createEventQueue(createStore(memoryStorage, "t."), 3);
    for (const id of ["1", "2", "3", "4", "5"]) queue.push(message(id));
    expect(queue.take(10, 60_000, {}).map((m) => m.messageId)).toEqual(["3", "4", "5"]);
  });

  it("refuses a message that could never be delivered and batches by size", () => {
    const queue = createEventQueue(createStore(memoryStorage, "t."));
    expect(queue.push(message("huge", { properties: { blob: "x".repeat(MESSAGE_MAX_BYTES) } }))).toBe(false);
    for (const id of ["a", "b", "c"]) queue.push(message(id, { properties: { blob: "é".repeat(5000) } }));
    // each message is ~10 KB in UTF-8: two fit in 25 KB
    expect(queue.take(10, 25_000, {}).map((m) => m.messageId)).toEqual(["a", "b"]);
  });

  it("falls back to memory when the browser refuses storage", () => {
    const store = createStore(() => {
      throw new Error("SecurityError");
    }, "t.");
    expect(store.persistent).toBe(false);
    const queue = createEventQueue(store);
    queue.push(message("a"));
    expect(queue.size()).toBe(1);
  });
});
