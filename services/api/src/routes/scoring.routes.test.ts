import { ingestEvents, processUser } from "@nurture/backend";
import { createHarness, type Harness } from "@nurture/testkit";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let h: Harness;
beforeAll(async () => {
  h = await createHarness({ worker: true });
  h.clock.set("2026-06-01T00:00:00Z");
});
afterAll(async () => h.close());

const card = async (id: string) => (await h.admin({ method: "GET", url: `/v1/users/${encodeURIComponent(id)}` })).json();
const scoring = async (id: string) => (await card(id)).scoring;
const timeline = async (id: string, name: string) =>
  (await h.admin({ method: "GET", url: `/v1/users/${encodeURIComponent(id)}/events?limit=100&name=${encodeURIComponent(name)}` })).json().items as { properties: Record<string, unknown> }[];
const createRule = async (body: Record<string, unknown>) => {
  const res = await h.admin({ method: "POST", url: "/v1/scoring-rules", payload: body });
  expect(res.statusCode).toBe(201);
  return res.json() as { id: string };
};
const batch = async (messages: Record<string, unknown>[]) => {
  const res = await h.track("/v1/batch", { batch: messages });
  expect(res.statusCode).toBe(200);
  return res.json();
};
/** Polls a job's progress URL until it has finished (the worker runs it). */
async function finished(url: string) {
  for (let i = 0; i < 300; i++) {
    const job = (await h.admin({ method: "GET", url })).json();
    if (job.status === "done" || job.status === "failed") return job;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`job at ${url} did not finish`);
}

describe("lead scoring", () => {
  it("loads the default rule set once", async () => {
    const first = await h.admin({ method: "POST", url: "/v1/scoring-rules/defaults" });
    expect(first.statusCode).toBe(200);
    expect(first.json().created.map((r: { event: string; points: number }) => [r.event, r.points])).toEqual([
      ["$page", 1],
      ["$email_opened", 5],
      ["guide_downloaded", 10],
      ["trial_finished", 20],
      ["paid_features_viewed", 30],
      ["payment_form_viewed", 40],
      ["$unsubscribed", -10],
    ]);
    const again = (await h.admin({ method: "POST", url: "/v1/scoring-rules/defaults" })).json();
    expect(again).toMatchObject({ created: [], existing: 7 });
    expect(again.items).toHaveLength(7);
  });

  it("gives a scripted visitor the exact total of the default rules", async () => {
    const v = { anonymousId: "visitor-1" };
    const at = (day: number, hour: number) => `2026-05-0${day}T${String(hour).padStart(2, "0")}:00:00Z`;
    await batch([
      // Day 1: three page views count as one visit (+1).
      ...[9, 10, 11].map((hour) => ({ type: "page", ...v, name: "Home", properties: { path: "/" }, timestamp: at(1, hour) })),
      // Day 2: a visit (+1), two emails read (+5 each), a guide (+10).
      ...[9, 15].map((hour) => ({ type: "page", ...v, name: "Blog", timestamp: at(2, hour) })),
      { type: "track", ...v, event: "$email_opened", timestamp: at(2, 10) },
      { type: "track", ...v, event: "$email_opened", timestamp: at(2, 12) },
      { type: "track", ...v, event: "guide_downloaded", timestamp: at(2, 13) },
      // Day 3: a visit (+1), a trial finished twice (+20 once), paid features viewed twice (+30 once that day).
      { type: "page", ...v, name: "Pricing", timestamp: at(3, 9) },
      { type: "track", ...v, event: "trial_finished", timestamp: at(3, 10) },
      { type: "track", ...v, event: "trial_finished", timestamp: at(3, 11) },
      { type: "track", ...v, event: "paid_features_viewed", timestamp: at(3, 12) },
      { type: "track", ...v, event: "paid_features_viewed", timestamp: at(3, 13) },
      // Day 4: the payment form (+40), then an unsubscribe (−10).
      { type: "track", ...v, event: "payment_form_viewed", timestamp: at(4, 9) },
      { type: "track", ...v, event: "$unsubscribed", timestamp: at(4, 10) },
      { type: "track", ...v, event: "something_else", timestamp: at(4, 11) },
    ]);
    await h.drain();

    const s = await scoring("visitor-1");
    expect(s.score).toBe(1 + 1 + 5 + 5 + 10 + 1 + 20 + 30 + 40 - 10);
    expect(s.interestBand).toBe(1);
    expect(s.history).toHaveLength(10);
    expect(s.history[0]).toMatchObject({ event: "$unsubscribed", rule: "Unsubscribed", delta: -10, score: 103 });
    const full = (await h.admin({ method: "GET", url: "/v1/users/visitor-1/score-history?limit=100" })).json();
    expect(full.items.map((i: { delta: number }) => i.delta)).toEqual([-10, 40, 30, 20, 1, 10, 5, 5, 1, 1]);

    const crossed = (await timeline("visitor-1", "$score_crossed")).map((e) => e.properties);
    expect(crossed.sort((a, b) => Number(a.threshold) - Number(b.threshold))).toEqual([
      { threshold: 10, direction: "up", score: 103 },
      { threshold: 30, direction: "up", score: 103 },
      { threshold: 60, direction: "up", score: 103 },
    ]);
    expect(await timeline("visitor-1", "$score_changed")).toHaveLength(10);
  });

  it("never scores a redelivered batch twice, nor a user processed by several workers at once", async () => {
    const messages = [
      { type: "track", messageId: "redeliver-1", anonymousId: "visitor-2", event: "guide_downloaded", timestamp: "2026-05-10T10:00:00Z" },
      { type: "track", messageId: "redeliver-2", anonymousId: "visitor-2", event: "trial_finished", timestamp: "2026-05-10T11:00:00Z" },
    ];
    await batch(messages);
    await h.drain();
    expect((await batch(messages)).duplicates).toBe(2);
    await h.drain();
    expect((await scoring("visitor-2")).score).toBe(30);

    // Stored but not yet processed, then three runs racing for the same user.
    const stored = await ingestEvents(h.db, h.project.id, [
      { type: "track", name: "guide_downloaded", messageId: "race-1", anonymousId: "visitor-3", properties: {}, context: {}, occurredAt: new Date("2026-05-10T10:00:00Z") },
      { type: "track", name: "guide_downloaded", messageId: "race-2", anonymousId: "visitor-3", properties: {}, context: {}, occurredAt: new Date("2026-05-10T10:01:00Z") },
    ]);
    const deps = { db: h.db, queues: h.queues, now: h.clock.now, log: pino({ level: "silent" }) };
    const userId = stored.userIds[0]!;
    await Promise.all([processUser(deps, h.project.id, userId), processUser(deps, h.project.id, userId), processUser(deps, h.project.id, userId)]);
    await h.drain();
    expect((await scoring("visitor-3")).score).toBe(20);
    expect((await h.admin({ method: "GET", url: "/v1/users/visitor-3/score-history" })).json().items).toHaveLength(2);
  });

  it("lowers the score when points expire, at the right time, without new events", async () => {
    await createRule({ name: "Attended a webinar", event: "webinar_attended", points: 15, expiresAfterDays: 7 });
    h.clock.set("2026-03-01T12:00:00Z");
    await h.track("/v1/track", { anonymousId: "visitor-4", event: "webinar_attended", timestamp: "2026-03-01T10:00:00Z" });
    await h.drain();
    let s = await scoring("visitor-4");
    expect(s.score).toBe(15);
    expect(s.nextExpiryAt).toBe("2026-03-08T10:00:00.000Z");

    h.clock.set("2026-03-08T09:59:59Z");
    await h.worker!.sweep();
    await h.drain();
    expect((await scoring("visitor-4")).score).toBe(15);

    h.clock.set("2026-03-08T10:00:00Z");
    await h.worker!.sweep();
    await h.drain();
    s = await scoring("visitor-4");
    expect(s.score).toBe(0);
    expect(s.nextExpiryAt).toBeNull();
    expect(s.history[0]).toMatchObject({ kind: "expiry", event: "webinar_attended", delta: -15, score: 0, at: "2026-03-08T10:00:00.000Z" });
    expect((await timeline("visitor-4", "$score_crossed")).map((e) => e.properties)).toEqual([
      { threshold: 10, direction: "down", score: 0 },
      { threshold: 10, direction: "up", score: 15 },
    ]);
    h.clock.set("2026-06-01T00:00:00Z");
  });

  it("scores only events whose properties pass the rule's filter, within its limit", async () => {
    await createRule({ name: "Viewed an enterprise page", event: "$page", where: [{ property: "path", op: "contains", value: "/enterprise" }], points: 7, limit: { type: "max_times", times: 2 } });
    await batch(["/enterprise", "/blog", "/enterprise/sso", "/enterprise/audit"].map((path, i) => ({ type: "page", anonymousId: "visitor-5", properties: { path }, timestamp: `2026-05-20T1${i}:00:00Z` })));
    await h.drain();
    // +1 for the visit that day (default rule), +7 twice.
    expect((await scoring("visitor-5")).score).toBe(1 + 7 + 7);
  });

  it("rebuilds the score from the joined history when an anonymous visitor logs in", async () => {
    await batch([
      { type: "identify", userId: "kim@example.com", traits: { name: "Kim" }, timestamp: "2026-05-01T10:00:00Z" },
      { type: "track", userId: "kim@example.com", event: "trial_finished", timestamp: "2026-05-01T11:00:00Z" },
      { type: "track", anonymousId: "kim-phone", event: "trial_finished", timestamp: "2026-05-02T11:00:00Z" },
      { type: "track", anonymousId: "kim-phone", event: "guide_downloaded", timestamp: "2026-05-02T12:00:00Z" },
    ]);
    await h.drain();
    expect((await scoring("kim@example.com")).score).toBe(20);
    expect((await card("kim-phone")).scoring.score).toBe(30);

    await h.track("/v1/identify", { anonymousId: "kim-phone", userId: "kim@example.com" });
    await h.drain();
    // The trial counts once per user: 20 + 10, not 20 + 20 + 10.
    const s = await scoring("kim@example.com");
    expect(s.score).toBe(30);
    expect(s.history.map((i: { event: string; delta: number }) => [i.event, i.delta])).toEqual([
      ["guide_downloaded", 10],
      ["trial_finished", 20],
    ]);
  });

  it("applies an edited or deleted rule to the existing history on request, with progress", async () => {
    const rule = await createRule({ name: "Booked a call", event: "call_booked", points: 5 });
    await batch([1, 2, 3].map((d) => ({ type: "track", anonymousId: "visitor-6", event: "call_booked", timestamp: `2026-05-0${d}T10:00:00Z` })));
    await h.drain();
    expect((await scoring("visitor-6")).score).toBe(15);
    const before = { v1: (await scoring("visitor-1")).score, kim: (await scoring("kim@example.com")).score };

    expect((await h.admin({ method: "PATCH", url: `/v1/scoring-rules/${rule.id}`, payload: { points: 8, limit: { type: "once_per_user" } } })).statusCode).toBe(200);
    expect((await scoring("visitor-6")).score).toBe(15);
    const started = await h.admin({ method: "POST", url: "/v1/scoring/recompute" });
    expect(started.statusCode).toBe(202);
    const job = await finished(`/v1/scoring/recompute/${started.json().id}`);
    expect(job).toMatchObject({ status: "done", task: "recompute-scores", progress: { ratio: 1 } });
    expect(job.progress.done).toBe(job.progress.total);
    expect((await scoring("visitor-6")).score).toBe(8);
    // Everyone else is unchanged: the recompute gives what the live pipeline gave.
    expect((await scoring("visitor-1")).score).toBe(before.v1);
    expect((await scoring("kim@example.com")).score).toBe(before.kim);

    expect((await h.admin({ method: "DELETE", url: `/v1/scoring-rules/${rule.id}` })).statusCode).toBe(204);
    expect((await h.admin({ method: "GET", url: `/v1/scoring-rules/${rule.id}` })).statusCode).toBe(404);
    const again = await finished(`/v1/scoring/recompute/${(await h.admin({ method: "POST", url: "/v1/scoring/recompute" })).json().id}`);
    expect(again.status).toBe("done");
    expect((await scoring("visitor-6")).score).toBe(0);
  });

  it("changes the crossing thresholds and interest bands per project", async () => {
    const res = await h.admin({ method: "PUT", url: "/v1/scoring/settings", payload: { interestBands: [200, 100, 50] } });
    expect(res.json()).toEqual({ thresholds: [10, 30, 60], interestBands: [200, 100, 50] });
    expect((await scoring("visitor-1")).interestBand).toBe(2);
    await h.admin({ method: "PUT", url: "/v1/scoring/settings", payload: { interestBands: [60, 30, 10] } });
  });
});

const gradeModel = {
  criteria: [
    { property: "company.employees", type: "number", weight: 3, ranges: [{ min: 0, max: 10, points: 20 }, { min: 10, max: 100, points: 60 }, { min: 100, points: 100 }] },
    { property: "industry", type: "text", weight: 2, values: [{ values: ["saas", "fintech"], points: 100 }, { values: ["retail"], points: 50 }], otherwise: 10 },
    { property: "budget", type: "number", weight: 5, ranges: [{ max: 1000, points: 0 }, { min: 1000, max: 10000, points: 50 }, { min: 10000, points: 100 }] },
  ],
};

describe("grades and classes", () => {
  it("grades profiles and shows the classes A1, E2 and A4", async () => {
    const big = { company: { employees: 500 }, industry: "SaaS", budget: 50_000 };
    // Known before the model exists: graded by the backfill.
    await h.track("/v1/identify", { userId: "abe", traits: big });
    await h.drain();
    expect((await scoring("abe")).grade).toBeNull();

    const put = await h.admin({ method: "PUT", url: "/v1/grade-model", payload: gradeModel });
    expect(put.statusCode).toBe(200);
    expect(put.json().model.bands.map((b: { name: string }) => b.name)).toEqual(["A", "B", "C", "D", "E"]);
    expect((await finished(`/v1/grade-model/backfill/${put.json().backfill.id}`)).status).toBe("done");

    await createRule({ name: "Requested a demo", event: "demo_requested", points: 45 });
    await createRule({ name: "Had a pricing call", event: "pricing_call", points: 30 });
    await batch([
      { type: "identify", userId: "ann", traits: big },
      { type: "track", userId: "ann", event: "demo_requested", timestamp: "2026-05-01T10:00:00Z" },
      { type: "track", userId: "ann", event: "pricing_call", timestamp: "2026-05-02T10:00:00Z" },
      { type: "identify", userId: "eve", traits: { company: { employees: 3 }, industry: "retail" } },
      { type: "track", userId: "eve", event: "demo_requested", timestamp: "2026-05-01T10:00:00Z" },
    ]);
    await h.drain();

    expect(await scoring("ann")).toMatchObject({ score: 75, interestBand: 1, grade: "A", class: "A1" });
    expect(await scoring("eve")).toMatchObject({ score: 45, interestBand: 2, grade: "E", class: "E2" });
    expect(await scoring("abe")).toMatchObject({ score: 0, interestBand: 4, grade: "A", class: "A4" });
  });

  it("regrades when a property changes and when the model is edited", async () => {
    await h.admin({ method: "POST", url: "/v1/users/eve/props", payload: { ops: [{ op: "set", key: "budget", value: 20_000 }, { op: "set", key: "industry", value: "fintech" }] } });
    await h.drain();
    // (3·20 + 2·100 + 5·100) / 10 = 76.
    expect((await scoring("eve")).grade).toBe("B");

    const renamed = { ...gradeModel, bands: [{ name: "Key", min: 75 }, { name: "Medium", min: 40 }, { name: "Small" }] };
    const put = (await h.admin({ method: "PUT", url: "/v1/grade-model", payload: renamed })).json();
    expect((await finished(`/v1/grade-model/backfill/${put.backfill.id}`)).changed).toBeGreaterThanOrEqual(3);
    expect((await scoring("eve")).class).toBe("Key2");
    expect((await scoring("abe")).class).toBe("Key4");
    const preview = await h.admin({ method: "POST", url: "/v1/grade-model/preview", payload: { properties: { budget: 5000 } } });
    // (3·0 + 2·10 + 5·50) / 10.
    expect(preview.json()).toMatchObject({ total: 27, grade: "Small" });
  });

  it("lets a segment on score and grade pick a lead up in the same pipeline run", async () => {
    const created = await h.admin({
      method: "POST",
      url: "/v1/segments",
      payload: { name: "Hot and able to pay", condition: { and: [{ score: { op: "gte", value: 60 } }, { grade: { op: "eq", value: "Key" } }] } },
    });
    expect(created.statusCode).toBe(201);
    const segmentId = created.json().id;
    const inSegment = async (id: string) => ((await card(id)).segments as { id: string }[]).some((m) => m.id === segmentId);
    expect(await inSegment("ann")).toBe(true);
    expect(await inSegment("abe")).toBe(false);

    await h.track("/v1/track", { userId: "abe", event: "demo_requested", timestamp: "2026-05-03T10:00:00Z" });
    await h.drain();
    expect(await inSegment("abe")).toBe(false);
    await h.track("/v1/track", { userId: "abe", event: "pricing_call", timestamp: "2026-05-04T10:00:00Z" });
    await h.drain();
    expect(await scoring("abe")).toMatchObject({ score: 75, class: "Key1" });
    expect(await inSegment("abe")).toBe(true);
  });
});

describe("input validation", () => {
  it.each([
    { url: "/v1/scoring-rules", method: "POST", payload: { name: "Zero", event: "x", points: 0 }, path: "body.points" },
    { url: "/v1/scoring-rules", method: "POST", payload: { name: "Limit", event: "x", points: 1, limit: { type: "max_times" } }, path: "body.limit.times" },
    { url: "/v1/scoring-rules", method: "POST", payload: { name: "Filter", event: "x", points: 1, where: [{ property: "path", op: "explode", value: 1 }] }, path: "body.where.0.op" },
    { url: "/v1/scoring-rules", method: "POST", payload: { name: "Loop", event: "$score_changed", points: 1 }, path: "body.event" },
    { url: "/v1/scoring/settings", method: "PUT", payload: { interestBands: [10, 30, 60] }, path: "body.interestBands" },
    {
      url: "/v1/grade-model",
      method: "PUT",
      payload: { criteria: [{ property: "budget", type: "number", weight: 1, ranges: [{ min: 0, max: 10, points: 1 }, { min: 5, points: 2 }] }] },
      path: "body.criteria.0.ranges.1",
    },
    { url: "/v1/grade-model", method: "PUT", payload: { criteria: [{ property: "budget", type: "number", weight: -1, ranges: [{ points: 1 }] }] }, path: "body.criteria.0.weight" },
    { url: "/v1/analysis/abc-xyz", method: "POST", payload: { purchaseEvent: "o", revenueProperty: "r", from: "2026-05-01", to: "2026-04-01" }, path: "body.to" },
    { url: "/v1/analysis/abc-xyz", method: "POST", payload: { purchaseEvent: "o", revenueProperty: "r", from: "2026-04-01", cutoffs: { abc: [95, 80], xyz: [80, 95] } }, path: "body.cutoffs.abc.1" },
    { url: "/v1/analysis/abc-xyz", method: "POST", payload: { purchaseEvent: "o", revenueProperty: "r", from: "yesterday" }, path: "body.from" },
  ])("$method $url → 400 naming $path", async ({ url, method, payload, path }) => {
    const res = await h.admin({ method: method as "POST" | "PUT", url, payload });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details.map((d: { path: string }) => d.path)).toContain(path);
  });

  it("answers 404 for unknown rules and jobs, and 401 without the secret key", async () => {
    expect((await h.admin({ method: "PATCH", url: "/v1/scoring-rules/00000000-0000-4000-8000-000000000000", payload: { points: 3 } })).statusCode).toBe(404);
    expect((await h.admin({ method: "GET", url: "/v1/scoring/recompute/00000000-0000-4000-8000-000000000000" })).statusCode).toBe(404);
    expect((await h.app.inject({ method: "GET", url: "/v1/scoring-rules" })).statusCode).toBe(401);
  });

  it("documents the routes in the OpenAPI document", async () => {
    const doc = (await h.app.inject({ method: "GET", url: "/docs/json" })).json();
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/v1/scoring-rules", "/v1/scoring-rules/defaults", "/v1/scoring/recompute/{jobId}", "/v1/grade-model", "/v1/analysis/abc-xyz"]));
  });
});
