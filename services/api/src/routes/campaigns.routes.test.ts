import { createHarness, type Harness } from "@nurture/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let h: Harness;
beforeAll(async () => {
  h = await createHarness({ worker: true });
});
afterAll(async () => h.close());

async function until<T>(fn: () => Promise<T | undefined | null | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}

const popup = (body = "Hello {{ user.name | default: \"there\" }}") => ({ channel: "popup", content: { title: "Hi", body } });
const create = (body: Record<string, unknown>) => h.admin({ method: "POST", url: "/v1/campaigns", payload: body });
const setStatus = (id: string, status: string) => h.admin({ method: "POST", url: `/v1/campaigns/${id}/status`, payload: { status } });
const card = async (id: string) => (await h.admin({ method: "GET", url: `/v1/users/${encodeURIComponent(id)}` })).json();
const settled = (id: string, campaignId: string) =>
  until(async () => {
    const messages = (await card(id)).messages?.filter((m: { campaignId: string }) => m.campaignId === campaignId) ?? [];
    return messages.length > 0 && messages.every((m: { status: string }) => m.status !== "queued" && m.status !== "sending") ? messages : null;
  });

describe("campaigns API", () => {
  it("creates a draft, lists and reads it", async () => {
    const res = await create({ name: "Welcome", trigger: { type: "event", event: "signed_up" }, steps: [popup()] });
    expect(res.statusCode, res.body).toBe(201);
    const campaign = res.json();
    expect(campaign).toMatchObject({ name: "Welcome", status: "draft", repeat: { mode: "once" }, steps: [{ position: 0, channel: "popup", delayMs: 0 }] });
    expect((await h.admin({ method: "GET", url: `/v1/campaigns/${campaign.id}` })).json().id).toBe(campaign.id);
    expect((await h.admin({ method: "GET", url: "/v1/campaigns?status=draft" })).json().items.map((c: { id: string }) => c.id)).toContain(campaign.id);
  });

  it("refuses a broken template with the field, line and column", async () => {
    const res = await create({
      name: "Broken",
      trigger: { type: "event", event: "x" },
      steps: [{ channel: "email", content: { subject: "ok", html: "<p>line one</p>\n<p>{{ user.name | shout }}</p>" } }],
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details[0]).toEqual({ path: "body.steps.0.content.html", message: "invalid template: line 2, column 4: undefined filter: shout" });
    const include = await create({ name: "Files", trigger: { type: "event", event: "x" }, steps: [popup("{% include '/etc/passwd' %}")] });
    expect(include.statusCode).toBe(400);
    expect(include.json().error.details[0].message).toMatch(/line 1, column 1: the \{% include %\} tag is not available/);
  });

  it("refuses an invalid audience condition naming the node", async () => {
    const res = await create({ name: "Bad", trigger: { type: "event", event: "x" }, audience: { and: [{ property: "plan", op: "eq", value: "pro" }, { event: "order", count: { op: "gte" } }] }, steps: [popup()] });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details[0].path).toMatch(/^body\.audience\.and\.1/);
  });

  it("moves through draft → active ⇄ paused → archived only", async () => {
    const { id } = (await create({ name: "Lifecycle", trigger: { type: "event", event: "x" }, steps: [popup()] })).json();
    expect((await setStatus(id, "paused")).statusCode).toBe(409);
    expect((await setStatus(id, "active")).json().status).toBe("active");
    expect((await h.admin({ method: "DELETE", url: `/v1/campaigns/${id}` })).statusCode).toBe(409);
    expect((await setStatus(id, "paused")).json().status).toBe("paused");
    expect((await setStatus(id, "active")).json().status).toBe("active");
    expect((await setStatus(id, "archived")).json().status).toBe("archived");
    expect((await setStatus(id, "active")).statusCode).toBe(409);
    const draft = (await create({ name: "Throwaway", trigger: { type: "event", event: "x" }, steps: [popup()] })).json();
    expect((await h.admin({ method: "DELETE", url: `/v1/campaigns/${draft.id}` })).statusCode).toBe(204);
    expect((await h.admin({ method: "GET", url: `/v1/campaigns/${draft.id}` })).statusCode).toBe(404);
  });

  it("fires only active campaigns, and an edit never resends to people who already got it", async () => {
    const { id } = (await create({ name: "Promo", trigger: { type: "event", event: "viewed_pricing" }, steps: [popup("First version")] })).json();
    await h.track("/v1/track", { userId: "early", event: "viewed_pricing" });
    await h.drain();
    expect((await card("early")).messages).toEqual([]);

    await setStatus(id, "active");
    await h.track("/v1/track", { userId: "early", event: "viewed_pricing" });
    const [first] = await settled("early", id);
    expect(first).toMatchObject({ status: "sent", summary: "Hi" });

    const current = (await h.admin({ method: "GET", url: `/v1/campaigns/${id}` })).json();
    const edited = await h.admin({
      method: "PUT",
      url: `/v1/campaigns/${id}`,
      payload: { name: "Promo v2", trigger: current.trigger, steps: [{ id: current.steps[0].id, ...popup("Second version") }] },
    });
    expect(edited.statusCode, edited.body).toBe(200);
    expect(edited.json()).toMatchObject({ status: "active", version: 2, steps: [{ id: current.steps[0].id }] });
    await h.track("/v1/track", { userId: "early", event: "viewed_pricing" });
    await h.track("/v1/track", { userId: "late", event: "viewed_pricing" });
    await h.drain();
    const late = await settled("late", id);
    expect(late).toHaveLength(1);
    expect((await card("early")).messages.filter((m: { campaignId: string }) => m.campaignId === id)).toHaveLength(1);
    const decisions = (await h.admin({ method: "GET", url: `/v1/users/early/decisions?campaign=${id}` })).json().items;
    expect(decisions[0]).toMatchObject({ outcome: "already_received" });
    expect(decisions[0].explanation[0]).toMatch(/already received this campaign/);
  });

  it("records why a user outside the audience got nothing, node by node", async () => {
    const { id } = (
      await create({
        name: "Pro upsell",
        trigger: { type: "event", event: "opened_billing" },
        audience: { and: [{ property: "plan", op: "eq", value: "free" }, { event: "order_placed", happened: false }] },
        steps: [popup()],
      })
    ).json();
    await setStatus(id, "active");
    await h.track("/v1/identify", { userId: "payer", traits: { plan: "pro" } });
    await h.track("/v1/track", { userId: "payer", event: "opened_billing" });
    await h.drain();
    const [decision] = (await h.admin({ method: "GET", url: `/v1/users/payer/decisions?campaign=${id}` })).json().items;
    expect(decision.outcome).toBe("not_in_audience");
    expect(decision.traces.audience.map((n: { path: string; passed: boolean }) => [n.path, n.passed])).toEqual([
      ["", false],
      ["and.0", false],
      ["and.1", true],
    ]);
    expect(decision.explanation.join("\n")).toMatch(/✗ and\.0 — /);
  });

  it("credits goal conversions and sums revenue per step and in total", async () => {
    const { id } = (
      await create({
        name: "Checkout nudge",
        trigger: { type: "event", event: "checkout_started" },
        goal: { event: "order_placed", withinDays: 3, revenueProperty: "amount" },
        steps: [popup()],
      })
    ).json();
    await setStatus(id, "active");
    for (const user of ["buyer-1", "buyer-2", "window-shopper"]) await h.track("/v1/track", { userId: user, event: "checkout_started" });
    for (const user of ["buyer-1", "buyer-2", "window-shopper"]) await settled(user, id);
    await h.track("/v1/track", { userId: "buyer-1", event: "order_placed", properties: { amount: 30 } });
    await h.track("/v1/track", { userId: "buyer-1", event: "order_placed", properties: { amount: "12.5" } });
    await h.track("/v1/track", { userId: "buyer-2", event: "order_placed", properties: { amount: 100 } });
    await h.drain();
    const stats = (await h.admin({ method: "GET", url: `/v1/campaigns/${id}/stats` })).json();
    expect(stats.triggered).toBe(3);
    expect(stats.total).toMatchObject({ sent: 3, converted: 2, conversionRate: 0.6667, revenue: 142.5 });
    expect(stats.steps[0]).toMatchObject({ position: 0, channel: "popup", sent: 3, converted: 2, revenue: 142.5 });
    expect(stats.triggers).toMatchObject({ queued: 3 });
    expect((await card("buyer-1")).messages[0].status).toBe("converted");
    const past = (await h.admin({ method: "GET", url: `/v1/campaigns/${id}/stats?from=2020-01-01T00:00:00Z&to=2020-02-01T00:00:00Z` })).json();
    expect(past.total.sent).toBe(0);
  });

  it("keeps project messaging settings, validated", async () => {
    const bad = await h.admin({ method: "PUT", url: "/v1/messaging/settings", payload: { timeZone: "Mars/Olympus", quietHours: { start: "25:00", end: "08:00" } } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.details.map((d: { path: string }) => d.path).sort()).toEqual(["body.quietHours.start", "body.timeZone"]);
    const ok = await h.admin({ method: "PUT", url: "/v1/messaging/settings", payload: { timeZone: "Europe/Berlin", dailyCaps: { email: 2 }, quietHours: { start: "21:00", end: "08:00" } } });
    expect(ok.statusCode, ok.body).toBe(200);
    const got = (await h.admin({ method: "GET", url: "/v1/messaging/settings" })).json();
    expect(got).toMatchObject({ timeZone: "Europe/Berlin", dailyCaps: { email: 2 }, quietHours: { start: "21:00", end: "08:00", channels: ["email"] } });
    expect(got.webhookSigningSecret).toMatch(/^whs_/);
  });

  it("is admin-only", async () => {
    const res = await h.app.inject({ method: "GET", url: "/v1/campaigns", headers: { authorization: `Bearer ${h.project.writeKey}` } });
    expect(res.statusCode).toBe(403);
    const other = await h.newProject();
    const mine = (await h.admin({ method: "GET", url: "/v1/campaigns" })).json().items[0];
    const cross = await h.app.inject({ method: "GET", url: `/v1/campaigns/${mine.id}`, headers: { authorization: `Bearer ${other.secretKey}` } });
    expect(cross.statusCode).toBe(404);
  });
});
