import { createHarness, type Harness } from "@nurture/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let h: Harness;
const NOW = "2026-06-01T12:00:00Z";
beforeAll(async () => {
  h = await createHarness({ worker: true });
  h.clock.set(NOW);
});
afterAll(async () => h.close());

const daysAgo = (d: number) => new Date(Date.parse(NOW) - d * 86_400_000).toISOString();
const batch = async (messages: Record<string, unknown>[]) => {
  const res = await h.track("/v1/batch", { batch: messages });
  expect(res.statusCode).toBe(200);
  await h.drain();
};
const track = (userId: string, event: string, at: string, properties: Record<string, unknown> = {}) => ({ type: "track", userId, event, timestamp: at, properties });
const identify = (userId: string, traits: Record<string, unknown>) => ({ type: "identify", userId, traits, timestamp: daysAgo(30) });

const createSegment = async (body: Record<string, unknown>) => {
  const res = await h.admin({ method: "POST", url: "/v1/segments", payload: body });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: string; members: number; backfill: { entered: number; exited: number; members: number } };
};
const memberIds = async (segmentId: string) => {
  const ids: string[] = [];
  let cursor: string | null = null;
  do {
    const page: { items: { userId: string }[]; nextCursor: string | null } = (
      await h.admin({ method: "GET", url: `/v1/segments/${segmentId}/users?limit=2${cursor ? `&cursor=${cursor}` : ""}` })
    ).json();
    ids.push(...page.items.map((u) => u.userId));
    cursor = page.nextCursor;
  } while (cursor);
  return ids.sort();
};
const timeline = async (userId: string, name: string) =>
  (await h.admin({ method: "GET", url: `/v1/users/${encodeURIComponent(userId)}/events?limit=100&name=${encodeURIComponent(name)}` })).json().items as {
    properties: Record<string, unknown>;
  }[];
/** Background work (timeline entries, ticks, re-staging) runs on the maintenance queue. */
async function settled() {
  for (let i = 0; i < 400; i++) {
    const pending = await h.db.selectFrom("segment_tasks").select("id").where("status", "in", ["queued", "running"]).execute();
    if (pending.length === 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("segment tasks did not finish");
}

const abandonedCheckout = {
  and: [
    { event: "checkout_started", count: { op: "gte", value: 1 }, withinDays: 7 },
    { event: "order_paid", happened: false },
    { emailKnown: true },
  ],
};

describe("segments", () => {
  it("computes membership when a segment is created, and pages through the members", async () => {
    await batch([
      identify("ann", { email: "ann@example.com", plan: "pro" }),
      identify("bob", { email: "bob@example.com", plan: "free" }),
      identify("cat", { email: "cat@example.com" }),
      identify("dan", { plan: "pro" }),
      track("ann", "checkout_started", daysAgo(2)),
      track("bob", "checkout_started", daysAgo(3)),
      track("bob", "order_paid", daysAgo(3)),
      track("cat", "checkout_started", daysAgo(6)),
      track("cat", "checkout_started", daysAgo(20)),
      track("dan", "checkout_started", daysAgo(1)),
    ]);
    const segment = await createSegment({ name: "Abandoned checkout", condition: abandonedCheckout });
    expect(segment).toMatchObject({ members: 2, backfill: { entered: 2, exited: 0 }, timeRelative: true });
    expect(await memberIds(segment.id)).toEqual(["ann", "cat"]);
    const listed = (await h.admin({ method: "GET", url: "/v1/segments" })).json();
    expect(listed.items).toEqual([expect.objectContaining({ id: segment.id, name: "Abandoned checkout", members: 2 })]);

    // The entries go on the timeline in the background.
    await settled();
    expect(await timeline("ann", "$segment_entered")).toEqual([expect.objectContaining({ properties: { segmentId: segment.id } })]);
    expect((await h.admin({ method: "GET", url: "/v1/users/ann" })).json().segments).toEqual([
      expect.objectContaining({ id: segment.id, name: "Abandoned checkout" }),
    ]);
  });

  it("keeps membership current as events arrive, with entries and exits on the timeline", async () => {
    const segment = await createSegment({ name: "Checked out, not paid", condition: { and: [{ event: "checkout_started", happened: true }, { event: "order_paid", happened: false }] } });
    await batch([identify("eve", { email: "eve@example.com" }), track("eve", "checkout_started", daysAgo(0))]);
    expect(await memberIds(segment.id)).toContain("eve");
    expect(await timeline("eve", "$segment_entered")).toContainEqual(expect.objectContaining({ properties: { segmentId: segment.id } }));

    await batch([track("eve", "order_paid", NOW)]);
    expect(await memberIds(segment.id)).not.toContain("eve");
    // It also left "Abandoned checkout" (she paid): each exit names its segment.
    expect((await timeline("eve", "$segment_exited")).filter((e) => e.properties.segmentId === segment.id)).toHaveLength(1);
  });

  it("counts filtered events, including those stored before the segment existed", async () => {
    await batch([
      identify("fay", {}),
      track("fay", "order_paid", daysAgo(40), { amount: 500 }),
      track("fay", "order_paid", daysAgo(3), { amount: 150 }),
      track("fay", "order_paid", daysAgo(2), { amount: 20 }),
    ]);
    const bigSpender = await createSegment({
      name: "Two big orders this month",
      condition: { event: "order_paid", where: [{ property: "amount", op: "gte", value: 100 }], count: { op: "gte", value: 2 }, withinDays: 30 },
    });
    expect(await memberIds(bigSpender.id)).toEqual([]);
    await batch([track("fay", "order_paid", NOW, { amount: 120 })]);
    expect(await memberIds(bigSpender.id)).toEqual(["fay"]);
  });

  it("keeps counting a visitor's anonymous history once it joins their known card", async () => {
    const pricingFans = await createSegment({
      name: "Pricing fans",
      condition: { event: "$page", where: [{ property: "path", op: "contains", value: "/pricing" }], count: { op: "gte", value: 3 } },
    });
    const page = (anonymousId: string, path: string) => ({ type: "page", anonymousId, name: "Page", properties: { path }, timestamp: daysAgo(1) });
    await batch([{ type: "identify", anonymousId: "laptop", userId: "gil", timestamp: daysAgo(2) }, page("laptop", "/pricing")]);
    await batch([page("phone", "/pricing"), page("phone", "/pricing/teams"), page("phone", "/blog")]);
    expect(await memberIds(pricingFans.id)).toEqual([]);
    await batch([{ type: "identify", anonymousId: "phone", userId: "gil", timestamp: daysAgo(0) }]);
    expect(await memberIds(pricingFans.id)).toEqual(["gil"]);
  });

  it("refuses an invalid condition with a 400 naming the bad node", async () => {
    const res = await h.admin({
      method: "POST",
      url: "/v1/segments",
      payload: { name: "Broken", condition: { and: [{ emailKnown: true }, { event: "checkout_started", count: { op: "gt", value: "many" } }] } },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details).toEqual([expect.objectContaining({ path: "body.condition.and.1.count.value" })]);

    const missing = await h.admin({ method: "POST", url: "/v1/segments", payload: { name: "Ghost", condition: { or: [{ segment: "00000000-0000-4000-8000-000000000000" }] } } });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().error.details).toEqual([expect.objectContaining({ path: "body.condition.or.0.segment" })]);

    const duplicate = await h.admin({ method: "POST", url: "/v1/segments", payload: { name: "abandoned CHECKOUT", condition: { and: [] } } });
    expect(duplicate.statusCode).toBe(409);
  });

  it("previews a draft: count and sample, nothing saved", async () => {
    const before = (await h.admin({ method: "GET", url: "/v1/segments" })).json().items.length;
    const res = await h.admin({
      method: "POST",
      url: "/v1/segments/preview",
      payload: { condition: { and: [{ property: "plan", op: "eq", value: "pro" }, { event: "checkout_started", where: [{ property: "coupon", op: "not_defined" }], happened: true }] }, sample: 5 },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().count).toBe(2);
    expect(res.json().sample.map((u: { userId: string }) => u.userId).sort()).toEqual(["ann", "dan"]);
    expect((await h.admin({ method: "GET", url: "/v1/segments" })).json().items.length).toBe(before);
  });

  it("recomputes membership when the condition changes, and segments that read it follow", async () => {
    const pro = await createSegment({ name: "Pro plan", condition: { property: "plan", op: "eq", value: "pro" } });
    const proBuyers = await createSegment({ name: "Pro buyers", condition: { and: [{ segment: pro.id }, { event: "checkout_started", happened: true }] } });
    expect(await memberIds(proBuyers.id)).toEqual(["ann", "dan"]);

    const patched = await h.admin({ method: "PATCH", url: `/v1/segments/${pro.id}`, payload: { condition: { property: "plan", op: "in", values: ["free"] } } });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.json()).toMatchObject({ members: 1, backfill: { entered: 1, exited: 2 } });
    expect(await memberIds(proBuyers.id)).toEqual(["bob"]);
    expect(await timeline("ann", "$segment_exited")).toContainEqual(expect.objectContaining({ properties: { segmentId: pro.id } }));

    // A segment another one reads cannot go, and a cycle cannot be made.
    expect((await h.admin({ method: "DELETE", url: `/v1/segments/${pro.id}` })).statusCode).toBe(409);
    const cycle = await h.admin({ method: "PATCH", url: `/v1/segments/${pro.id}`, payload: { condition: { segment: proBuyers.id } } });
    expect(cycle.statusCode).toBe(400);
    expect((await h.admin({ method: "DELETE", url: `/v1/segments/${proBuyers.id}` })).statusCode).toBe(204);
    expect((await h.admin({ method: "DELETE", url: `/v1/segments/${pro.id}` })).statusCode).toBe(204);
    expect((await h.admin({ method: "GET", url: `/v1/segments/${pro.id}` })).statusCode).toBe(404);
  });

  it("explains why a user is or is not a member", async () => {
    const segment = await createSegment({ name: "Explained", condition: { and: [{ event: "checkout_started", count: { op: "gt", value: 1 } }, { property: "plan", op: "eq", value: "pro" }] } });
    const res = await h.admin({ method: "GET", url: `/v1/segments/${segment.id}/users/ann/explain` });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      member: false,
      matchesNow: false,
      trace: [
        { path: "", kind: "and", passed: false },
        { path: "and.0", kind: "event_count", passed: false, detail: "count of checkout_started = 1; needs > 1" },
        { path: "and.1", kind: "property", passed: true, detail: 'plan = "pro"; needs = "pro"' },
      ],
    });
  });
});

describe("the API documentation", () => {
  it("describes the condition language on the segment routes", async () => {
    const doc = (await h.app.inject({ method: "GET", url: "/docs/json" })).json();
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/v1/segments", "/v1/segments/preview", "/v1/segments/{id}/users", "/v1/lifecycle"]));
    expect(JSON.stringify(doc.paths["/v1/segments"].post)).toContain("segment condition");
  });
});

describe("lifecycle stages", () => {
  it("stages every identified user by the project's events, and counts them", async () => {
    await batch([
      identify("gus", {}),
      identify("hal", {}),
      ...Array.from({ length: 6 }, (_, i) => track("hal", "survey_created", daysAgo(i + 1))),
      track("hal", "$session_start", daysAgo(1)),
      { type: "track", anonymousId: "visitor", event: "$session_start", timestamp: daysAgo(1) },
    ]);
    const put = await h.admin({ method: "PUT", url: "/v1/lifecycle/settings", payload: { coreEvent: "survey_created", activityEvent: "$session_start", advancedEvent: "integration_used" } });
    expect(put.statusCode, put.body).toBe(200);
    await settled();
    const overview = (await h.admin({ method: "GET", url: "/v1/lifecycle" })).json();
    expect(overview.restaging).toBe(false);
    expect(overview.counts.engaged).toBe(1);
    expect(overview.counts.none).toBe(1);
    expect((await h.admin({ method: "GET", url: "/v1/users/hal" })).json().lifecycleStage).toBe("engaged");
    expect((await h.admin({ method: "GET", url: "/v1/users/gus" })).json().lifecycleStage).toBe("new");

    // Using the advanced feature makes hal a power user, on the timeline too.
    await batch([track("hal", "integration_used", NOW)]);
    expect((await h.admin({ method: "GET", url: "/v1/users/hal" })).json().lifecycleStage).toBe("power");
    expect(await timeline("hal", "$lifecycle_changed")).toContainEqual(expect.objectContaining({ properties: { from: "engaged", to: "power" } }));

    // Stages are usable in conditions.
    const power = await createSegment({ name: "Power users", condition: { lifecycleStage: { op: "eq", value: "power" } } });
    expect(await memberIds(power.id)).toEqual(["hal"]);
  });

  it("refuses invalid settings naming the field", async () => {
    const res = await h.admin({ method: "PUT", url: "/v1/lifecycle/settings", payload: { coreEvent: "x", activeWithinDays: 0 } });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details).toEqual([expect.objectContaining({ path: "body.activeWithinDays" })]);
  });
});
