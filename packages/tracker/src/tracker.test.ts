import { beforeEach, describe, expect, it } from "vitest";
import { createEventQueue, type EventQueue } from "./browser/event-queue";
import { toJsonSafe } from "./browser/json-safe";
import type { OutgoingMessage } from "./browser/messages";
import { SESSION_TIMEOUT_MS } from "./browser/session";
import { createStore, memoryStorage, type StorageLike } from "./browser/storage";
import { createTracker, type Identity, type PageInfo, type Tracker } from "./browser/tracker";

let backing: StorageLike;
let clock: Date;
let page: PageInfo;
let identityChanges: Identity[];
let tokenRefreshes: Identity[];
let warnings: string[];
let seq: number;

function newTracker(): { tracker: Tracker; queue: EventQueue; messages: () => OutgoingMessage[] } {
  const store = createStore(() => backing, "nurture.");
  const queue = createEventQueue(store);
  const tracker = createTracker({
    store,
    queue,
    schedule: () => undefined,
    page: () => page,
    device: () => ({ userAgent: "UA", locale: "en-GB", timezone: "Europe/London", screen: { width: 1280, height: 800, density: 2 } }),
    newId: () => `id-${++seq}`,
    now: () => clock,
    warn: (m) => void warnings.push(m),
    version: "0.0.0-test",
    onIdentityChange: (who) => void identityChanges.push(who),
    onTokenRefresh: (who) => void tokenRefreshes.push(who),
  });
  return { tracker, queue, messages: () => queue.take(1000, 10_000_000, {}) };
}

beforeEach(() => {
  backing = memoryStorage();
  clock = new Date("2025-03-01T10:00:00Z");
  page = { url: "https://shop.example/?utm_source=ads&utm_medium=cpc", path: "/", search: "?utm_source=ads&utm_medium=cpc", title: "Shop", referrer: "https://www.google.com/" };
  identityChanges = [];
  tokenRefreshes = [];
  warnings = [];
  seq = 0;
});

describe("a first visit", () => {
  it("opens a session and stores where the visitor came from as set_once properties on the anonymous card", () => {
    const { tracker, messages } = newTracker();
    tracker.start();
    const [session, identify] = messages();
    expect(session).toMatchObject({ type: "track", event: "$session_start", properties: { channel: "paid", utm_source: "ads", referrer_domain: "google.com" } });
    expect(identify?.type).toBe("identify");
    expect(identify?.userId).toBeUndefined();
    expect(identify?.ops).toContainEqual({ op: "set_once", key: "first_utm_source", value: "ads" });
    expect(identify?.ops).toContainEqual({ op: "set_once", key: "first_referrer_domain", value: "google.com" });
  });

  it("is only the first once: the next page load sends no attribution again", () => {
    newTracker().tracker.start();
    const second = newTracker();
    second.tracker.start();
    expect(second.messages().filter((m) => m.type === "identify")).toHaveLength(1);
  });
});

describe("page views and events", () => {
  it("carry the page, the device, the session, a unique messageId and an ISO timestamp", () => {
    const { tracker, messages } = newTracker();
    tracker.page();
    tracker.track("Added to cart", { sku: "A-1", price: 12.5 });
    const [, pageView, added] = messages();
    expect(pageView).toMatchObject({ type: "page", properties: { url: page.url, path: "/", title: "Shop", referrer: "https://www.google.com/", search: page.search } });
    expect(added).toMatchObject({ type: "track", event: "Added to cart", properties: { sku: "A-1", price: 12.5 }, timestamp: "2025-03-01T10:00:00.000Z" });
    expect(added?.context).toMatchObject({
      library: { name: "nurture.js", version: "0.0.0-test" },
      page: { path: "/" },
      userAgent: "UA",
      locale: "en-GB",
      timezone: "Europe/London",
      screen: { width: 1280, height: 800, density: 2 },
    });
    expect(added?.context.sessionId).toBe(pageView?.context.sessionId);
    expect(new Set(messages().map((m) => m.messageId)).size).toBe(messages().length);
  });

  it("start a new session after 30 minutes without activity, not before", () => {
    const { tracker, messages } = newTracker();
    tracker.page();
    clock = new Date(clock.getTime() + SESSION_TIMEOUT_MS - 1000);
    tracker.track("scrolled");
    clock = new Date(clock.getTime() + SESSION_TIMEOUT_MS + 1000);
    tracker.track("came back");
    const sessions = messages().filter((m) => m.event === "$session_start");
    expect(sessions).toHaveLength(2);
    const back = messages().find((m) => m.event === "came back");
    expect(back?.context.sessionId).toBe(sessions[1]?.properties?.session_id);
  });

  it("refuse a nameless event with a warning instead of throwing, and survive circular properties", () => {
    const { tracker, messages } = newTracker();
    tracker.track("");
    tracker.track(undefined);
    const circular: Record<string, unknown> = { a: 1 };
    circular.self = circular;
    tracker.track("ok", circular);
    expect(warnings).toHaveLength(2);
    expect(messages().find((m) => m.event === "ok")?.properties).toEqual({ a: 1 });
  });
});

describe("identify, props and reset", () => {
  it("attaches the user id, traits, the identity token and the first touch on the first identify", () => {
    const { tracker, messages } = newTracker();
    tracker.start();
    tracker.identify("u-42", { email: "ann@example.com" }, { token: "jwt.token.here" });
    tracker.track("after");
    const identify = messages().filter((m) => m.type === "identify")[1];
    expect(identify).toMatchObject({ userId: "u-42", traits: { email: "ann@example.com" }, context: { identityToken: "jwt.token.here" } });
    expect(identify?.ops).toContainEqual({ op: "set_once", key: "first_channel", value: "paid" });
    expect(messages().find((m) => m.event === "after")?.userId).toBe("u-42");
    expect(identityChanges.map((i) => [i.userId, i.token])).toEqual([["u-42", "jwt.token.here"]]);
  });

  it("does not repeat the attribution for the same user, and keeps the anonymous id", () => {
    const { tracker, messages } = newTracker();
    tracker.start();
    tracker.identify("u-42");
    const anonymousId = tracker.identity().anonymousId;
    tracker.identify("u-42", { plan: "pro" });
    const last = messages().at(-1);
    expect(last?.ops).toBeUndefined();
    expect(last?.anonymousId).toBe(anonymousId);
    expect(identityChanges).toHaveLength(1);
  });

  it("keeps the widget working when the same user comes back with a fresh token", () => {
    const { tracker } = newTracker();
    tracker.identify("u-42", {}, { token: "first" });
    tracker.identify("u-42", {}, { token: "first" });
    tracker.identify("u-42", {}, { token: "second" });
    expect(identityChanges).toHaveLength(1);
    expect(tokenRefreshes.map((i) => i.token)).toEqual(["second"]);
  });

  it("gives a different user on the same browser a fresh anonymous id, so their histories never merge", () => {
    const { tracker } = newTracker();
    tracker.identify("alice", {}, { token: "a-token" });
    const alice = tracker.identity();
    tracker.identify("bob");
    const bob = tracker.identity();
    expect(bob.anonymousId).not.toBe(alice.anonymousId);
    expect(bob.token).toBeNull();
  });

  it("identify with traits only describes the current visitor", () => {
    const { tracker, messages } = newTracker();
    tracker.identify({ newsletter: true });
    expect(messages().at(-1)).toMatchObject({ type: "identify", traits: { newsletter: true } });
    expect(messages().at(-1)?.userId).toBeUndefined();
  });

  it("sends property operations as an identify with ops, from a list or a plain object", () => {
    const { tracker, messages } = newTracker();
    tracker.props([
      { op: "increment", key: "visits", value: 1 },
      { op: "union", key: "tags", value: ["vip"] },
      { op: "unset", key: "coupon" },
      { op: "explode", key: "x" },
      { op: "increment", key: "bad", value: "one" },
    ]);
    tracker.props({ plan: "pro" });
    tracker.props("nonsense");
    const ops = messages().filter((m) => m.type === "identify").map((m) => m.ops);
    expect(ops).toEqual([
      [
        { op: "increment", key: "visits", value: 1 },
        { op: "union", key: "tags", value: ["vip"] },
        { op: "unset", key: "coupon" },
      ],
      [{ op: "set", key: "plan", value: "pro" }],
    ]);
    expect(warnings).toHaveLength(1);
  });

  it("reset on logout forgets the user and the token and starts a new anonymous visitor", () => {
    const { tracker, messages } = newTracker();
    tracker.identify("u-1", {}, { token: "t" });
    const before = tracker.identity();
    tracker.reset();
    tracker.track("browsing");
    const after = tracker.identity();
    expect(after.userId).toBeNull();
    expect(after.token).toBeNull();
    expect(after.anonymousId).not.toBe(before.anonymousId);
    const browsing = messages().find((m) => m.event === "browsing");
    expect(browsing?.userId).toBeUndefined();
    expect(browsing?.anonymousId).toBe(after.anonymousId);
    expect(identityChanges.at(-1)?.userId).toBeNull();
  });
});

describe("JSON safety of what the page passes in", () => {
  it("drops functions, cycles and prototype keys; converts dates, bigints and non-finite numbers", () => {
    const value = JSON.parse('{"__proto__": {"polluted": true}, "ok": 1}') as Record<string, unknown>;
    value.when = new Date("2025-01-02T03:04:05Z");
    value.fn = () => 1;
    value.big = 10n;
    value.nan = NaN;
    value.list = [1, undefined, () => 2];
    expect(toJsonSafe(value)).toEqual({ ok: 1, when: "2025-01-02T03:04:05.000Z", big: "10", nan: null, list: [1, null, null] });
  });

  it("skips a getter that throws", () => {
    const tricky = {
      fine: 1,
      get broken(): number {
        throw new Error("boom");
      },
    };
    expect(toJsonSafe(tricky)).toEqual({ fine: 1 });
  });
});
