import { updateProjectSettings } from "@nurture/backend";
import { createHarness, type Harness } from "@nurture/testkit";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => h.close());

const card = async (id: string) => (await h.admin({ method: "GET", url: `/v1/users/${encodeURIComponent(id)}` })).json();

describe("tracking API (Segment-compatible)", () => {
  it("stores a track call and keeps per-event statistics on the card", async () => {
    const first = await h.track("/v1/track", { anonymousId: "anon-1", event: "viewed_product", properties: { sku: "A1" }, timestamp: "2026-01-01T10:00:00Z" });
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({ success: true, stored: 1 });
    await h.track("/v1/track", { anonymousId: "anon-1", event: "viewed_product", timestamp: "2026-01-03T10:00:00Z" });

    const user = await card("anon-1");
    expect(user.userId).toBeNull();
    expect(user.anonymousIds).toEqual(["anon-1"]);
    expect(user.eventStats.viewed_product).toEqual({ count: 2, firstAt: "2026-01-01T10:00:00.000Z", lastAt: "2026-01-03T10:00:00.000Z" });
  });

  it("stores a retried batch once (idempotent by messageId)", async () => {
    const batch = {
      batch: [
        { type: "track", messageId: "m-1", anonymousId: "anon-2", event: "signup_started" },
        { type: "page", messageId: "m-2", anonymousId: "anon-2", name: "Pricing", properties: { path: "/pricing" } },
      ],
    };
    expect((await h.track("/v1/batch", batch)).json()).toMatchObject({ stored: 2, duplicates: 0 });
    expect((await h.track("/v1/batch", batch)).json()).toMatchObject({ stored: 0, duplicates: 2 });
    const user = await card("anon-2");
    expect(user.eventStats.signup_started.count).toBe(1);
    expect(user.eventStats.$page.count).toBe(1);
  });

  it("sees a new visitor first and last at the times of their own messages", async () => {
    await h.track("/v1/batch", {
      batch: [
        { type: "track", anonymousId: "early-bird", event: "viewed", timestamp: "2026-02-01T08:00:00Z" },
        { type: "track", anonymousId: "newcomer", event: "viewed", timestamp: "2026-02-01T10:00:00Z" },
        { type: "page", anonymousId: "newcomer", name: "Pricing", timestamp: "2026-02-01T10:30:00Z" },
      ],
    });
    expect(await card("newcomer")).toMatchObject({ firstSeenAt: "2026-02-01T10:00:00.000Z", lastSeenAt: "2026-02-01T10:30:00.000Z" });
    await h.track("/v1/track", { anonymousId: "newcomer", event: "viewed", timestamp: "2026-02-02T09:00:00Z" });
    expect(await card("newcomer")).toMatchObject({ firstSeenAt: "2026-02-01T10:00:00.000Z", lastSeenAt: "2026-02-02T09:00:00.000Z" });
  });

  it("gives an id renamed away by alias a card of its own when the same batch uses it again", async () => {
    await h.track("/v1/identify", { userId: "old-handle" });
    const res = await h.track("/v1/batch", {
      batch: [
        { type: "alias", previousId: "old-handle", userId: "new-handle" },
        { type: "track", userId: "old-handle", event: "viewed" },
      ],
    });
    expect(res.statusCode).toBe(200);
    expect((await card("new-handle")).eventStats.$identify.count).toBe(1);
    expect((await card("old-handle")).eventStats.viewed.count).toBe(1);
  });

  it("corrects the client's clock skew from sentAt", async () => {
    // The client's clock is 1 hour ahead: it says the event happened at 11:00 and was sent at 11:05.
    const sentAt = new Date(Date.now() + 3_600_000);
    const timestamp = new Date(sentAt.getTime() - 5 * 60_000);
    await h.track("/v1/track", { anonymousId: "skewed", event: "clicked", timestamp: timestamp.toISOString(), sentAt: sentAt.toISOString() });
    const at = new Date((await card("skewed")).eventStats.clicked.firstAt).getTime();
    expect(Math.abs(at - (Date.now() - 5 * 60_000))).toBeLessThan(60_000);
  });

  it("joins the anonymous history to the known card on identify, and a second device too", async () => {
    await h.track("/v1/track", { anonymousId: "laptop", event: "viewed_product" });
    await h.track("/v1/identify", { anonymousId: "laptop", userId: "ann@example.com", traits: { name: "Ann", plan: "free" } });
    await h.track("/v1/track", { anonymousId: "phone", event: "viewed_product" });
    await h.track("/v1/track", { anonymousId: "phone", event: "added_to_cart" });
    await h.track("/v1/identify", { anonymousId: "phone", userId: "ann@example.com", traits: { plan: "pro" } });

    const user = await card("ann@example.com");
    expect(user.anonymousIds.sort()).toEqual(["laptop", "phone"]);
    expect(user.properties).toMatchObject({ name: "Ann", plan: "pro" });
    expect(user.eventStats.viewed_product.count).toBe(2);
    expect(user.eventStats.added_to_cart.count).toBe(1);
    const timeline = (await h.admin({ method: "GET", url: "/v1/users/ann@example.com/events?limit=50" })).json();
    expect(timeline.items.filter((e: { name: string }) => e.name === "viewed_product")).toHaveLength(2);
    // The phone's card no longer exists on its own.
    expect((await h.admin({ method: "GET", url: "/v1/users/phone?by=anonymousId" })).json().userId).toBe("ann@example.com");
  });

  it("never merges two known users", async () => {
    await h.track("/v1/identify", { anonymousId: "shared-pc", userId: "bob" });
    await h.track("/v1/identify", { anonymousId: "shared-pc", userId: "cat" });
    expect((await card("bob")).userId).toBe("bob");
    expect((await card("cat")).userId).toBe("cat");
  });

  it("accepts the write key in the body and rejects unknown keys with 401", async () => {
    const res = await h.app.inject({ method: "POST", url: "/v1/track", payload: { writeKey: h.project.writeKey, anonymousId: "x", event: "e" } });
    expect(res.statusCode).toBe(200);
    const bad = await h.app.inject({ method: "POST", url: "/v1/track", payload: { writeKey: "wk_nope", anonymousId: "x", event: "e" } });
    expect(bad.statusCode).toBe(401);
    expect(bad.json().error.code).toBe("unauthorized");
  });

  it("rejects a batch with one bad message whole, naming the field", async () => {
    const res = await h.track("/v1/batch", {
      batch: [
        { type: "track", anonymousId: "whole", event: "ok" },
        { type: "track", anonymousId: "whole", event: "" },
      ],
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details[0].path).toBe("body.batch.1.event");
    expect((await h.admin({ method: "GET", url: "/v1/users/whole" })).statusCode).toBe(404);
  });

  it("requires a user or anonymous id", async () => {
    const res = await h.track("/v1/track", { event: "orphan" });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details[0].path).toBe("body.userId");
  });

  it("answers 413 for oversized messages and bodies", async () => {
    const big = "x".repeat(40 * 1024);
    expect((await h.track("/v1/track", { anonymousId: "big", event: "e", properties: { big } })).statusCode).toBe(413);
    const batch = { batch: [{ type: "track", anonymousId: "big", event: "e", properties: { big } }] };
    const res = await h.track("/v1/batch", batch);
    expect(res.statusCode).toBe(413);
    expect(res.json().error.details[0].path).toBe("body.batch.0");
  });

  it("drops prototype-polluting trait keys", async () => {
    const res = await h.app.inject({
      method: "POST",
      url: "/v1/identify",
      headers: { "content-type": "application/json", authorization: `Basic ${Buffer.from(`${h.project.writeKey}:`).toString("base64")}` },
      payload: '{"userId":"proto","traits":{"__proto__":{"admin":true},"constructor":{"prototype":{"x":1}},"ok":1}}',
    });
    expect(res.statusCode).toBe(200);
    expect((await card("proto")).properties).toEqual({ ok: 1 });
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });
});

describe("property operations API", () => {
  it("applies operations in order and creates the user", async () => {
    const res = await h.admin({
      method: "POST",
      url: "/v1/users/dana/props",
      payload: {
        ops: [
          { op: "set", key: "name", value: "Dana" },
          { op: "set_once", key: "source", value: "ads" },
          { op: "set_once", key: "source", value: "seo" },
          { op: "increment", key: "orders", value: 2 },
          { op: "union", key: "tags", value: ["vip", "vip", "eu"] },
        ],
      },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().properties).toEqual({ name: "Dana", source: "ads", orders: 2, tags: ["vip", "eu"] });
  });

  it("applies nothing when one operation cannot apply", async () => {
    await h.admin({ method: "POST", url: "/v1/users/eve/props", payload: { ops: [{ op: "set", key: "plan", value: "free" }] } });
    const res = await h.admin({
      method: "POST",
      url: "/v1/users/eve/props",
      payload: { ops: [{ op: "set", key: "name", value: "Eve" }, { op: "increment", key: "plan", value: 1 }] },
    });
    expect(res.statusCode).toBe(422);
    expect((await card("eve")).properties).toEqual({ plan: "free" });
  });

  it("names the bad operation", async () => {
    const res = await h.admin({ method: "POST", url: "/v1/users/eve/props", payload: { ops: [{ op: "explode", key: "x" }] } });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details[0].path).toMatch(/^body\.ops\.0/);
  });
});

describe("concurrent ingestion", () => {
  it("creates one card for a visitor whose events arrive on many connections at once", async () => {
    const sends = Array.from({ length: 12 }, (_, i) => h.track("/v1/track", { anonymousId: "racer", event: "tick", messageId: `race-${i}` }));
    expect((await Promise.all(sends)).map((r) => r.statusCode)).toEqual(Array(12).fill(200));
    const users = await h.db.selectFrom("anonymous_ids").select("user_id").where("anonymous_id", "=", "racer").execute();
    expect(users).toHaveLength(1);
    expect((await card("racer")).eventStats.tick.count).toBe(12);
  });

  it("answers each of many concurrent batches on its own: one whose operation cannot apply fails alone", async () => {
    await h.track("/v1/identify", { userId: "gus", traits: { plan: "free" } });
    const batch = (i: number) => ({ batch: [{ type: "track", messageId: `conc-${i}`, anonymousId: `conc-visitor-${i}`, event: "viewed" }] });
    const bad = {
      batch: [
        { type: "track", messageId: "conc-bad-1", anonymousId: "conc-visitor-bad", event: "viewed" },
        { type: "identify", messageId: "conc-bad-2", userId: "gus", ops: [{ op: "increment", key: "plan", value: 1 }] },
      ],
    };
    const sends = [...[0, 1, 2].map((i) => h.track("/v1/batch", batch(i))), h.track("/v1/batch", bad), ...[3, 4, 5].map((i) => h.track("/v1/batch", batch(i)))];
    const statuses = (await Promise.all(sends)).map((r) => r.statusCode);
    expect(statuses).toEqual([200, 200, 200, 422, 200, 200, 200]);
    const stored = await h.db.selectFrom("events").select("message_id").where("project_id", "=", h.project.id).where("message_id", "like", "conc-%").execute();
    expect(stored.map((r) => r.message_id).sort()).toEqual(["conc-0", "conc-1", "conc-2", "conc-3", "conc-4", "conc-5"]);
    expect((await card("gus")).properties).toEqual({ plan: "free" });
  });

  it("loses no event when a merge runs while the anonymous visitor keeps sending", async () => {
    await h.track("/v1/identify", { userId: "fay" });
    await h.track("/v1/track", { anonymousId: "fay-phone", event: "tap", messageId: "tap-0" });
    const taps = Array.from({ length: 10 }, (_, i) => h.track("/v1/track", { anonymousId: "fay-phone", event: "tap", messageId: `tap-${i + 1}` }));
    const identify = h.track("/v1/identify", { anonymousId: "fay-phone", userId: "fay" });
    expect((await Promise.all([...taps, identify])).every((r) => r.statusCode === 200)).toBe(true);
    const fay = await card("fay");
    expect(fay.eventStats.tap.count).toBe(11);
    const events = await h.admin({ method: "GET", url: "/v1/users/fay/events?name=tap&limit=100" });
    expect(events.json().items).toHaveLength(11);
  });
});

describe("identity verification on ingestion", () => {
  const secret = "identity-secret-for-tests-0123456789";
  const sign = (sub: string, expiresIn = "1h") =>
    new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject(sub).setIssuedAt().setExpirationTime(expiresIn).sign(new TextEncoder().encode(secret));
  let keys: { writeKey: string; secretKey: string; id: string };
  const send = (path: string, body: object, key = keys.writeKey) =>
    h.app.inject({ method: "POST", url: path, payload: body, headers: { authorization: `Basic ${Buffer.from(`${key}:`).toString("base64")}` } });

  beforeAll(async () => {
    keys = await h.newProject("Verified");
    await updateProjectSettings(h.db, keys.id, "identity", { secret, required: true });
  });

  it("refuses a browser identify without a valid token, naming the field, and stores nothing", async () => {
    const res = await send("/v1/batch", { batch: [{ type: "track", anonymousId: "mallory", event: "x" }, { type: "identify", anonymousId: "mallory", userId: "victim" }] });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.details[0].path).toBe("body.batch.1.context.identityToken");
    const expired = await send("/v1/identify", { anonymousId: "mallory", userId: "victim", context: { identityToken: await sign("victim", "-1m") } });
    expect(expired.statusCode).toBe(401);
    const forged = await send("/v1/identify", { anonymousId: "mallory", userId: "victim", context: { identityToken: await sign("someone-else") } });
    expect(forged.statusCode).toBe(401);
    const count = await h.db.selectFrom("events").select((eb) => eb.fn.countAll<number>().as("n")).where("project_id", "=", keys.id).executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(0);
  });

  it("accepts a signed identify and never stores the token", async () => {
    const res = await send("/v1/identify", { anonymousId: "vic-browser", userId: "vic", traits: { name: "Vic" }, context: { identityToken: await sign("vic") } });
    expect(res.statusCode).toBe(200);
    const timeline = await h.app.inject({ method: "GET", url: "/v1/users/vic/events", headers: { authorization: `Bearer ${keys.secretKey}` } });
    expect(JSON.stringify(timeline.json())).not.toContain("identityToken");
  });

  it("does not let a browser join another user's card by naming their id on a track", async () => {
    await send("/v1/track", { anonymousId: "mallory-2", event: "snoop" });
    await send("/v1/track", { anonymousId: "mallory-2", userId: "vic", event: "snoop" });
    const mallory = await h.app.inject({ method: "GET", url: "/v1/users/mallory-2?by=anonymousId", headers: { authorization: `Bearer ${keys.secretKey}` } });
    expect(mallory.json().userId).toBeNull();
  });

  it("trusts the site's server when it sends with the secret key", async () => {
    const res = await send("/v1/identify", { anonymousId: "srv-anon", userId: "server-user", traits: { plan: "pro" } }, keys.secretKey);
    expect(res.statusCode).toBe(200);
  });
});
