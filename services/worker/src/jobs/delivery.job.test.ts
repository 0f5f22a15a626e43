import { createHmac } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { sweepDeliveries } from "@nurture/backend";
import { createHarness, startSmtpSink, type Harness, type SmtpSink } from "@nurture/testkit";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorker } from "../worker";

let h: Harness;
let smtp: SmtpSink;
beforeAll(async () => {
  smtp = await startSmtpSink();
  h = await createHarness({ worker: true, config: { SMTP_URL: smtp.url } });
});
afterAll(async () => {
  await h.close();
  await smtp.close();
});

async function until<T>(fn: () => Promise<T | undefined | null | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function activeCampaign(body: Record<string, unknown>): Promise<string> {
  const created = await h.admin({ method: "POST", url: "/v1/campaigns", payload: body });
  expect(created.statusCode, created.body).toBe(201);
  await h.admin({ method: "POST", url: `/v1/campaigns/${created.json().id}/status`, payload: { status: "active" } });
  return created.json().id;
}

const messagesOf = (campaignId: string) => h.db.selectFrom("messages").selectAll().where("campaign_id", "=", campaignId).orderBy("id").execute();
const settledMessages = (campaignId: string, count: number) =>
  until(async () => {
    const rows = await messagesOf(campaignId);
    return rows.length >= count && rows.every((r) => r.status !== "queued" && r.status !== "sending") ? rows : null;
  });
const decisionsOf = async (userId: string, campaignId: string) => (await h.admin({ method: "GET", url: `/v1/users/${userId}/decisions?campaign=${campaignId}` })).json().items;
const sweep = () => sweepDeliveries({ db: h.db, queues: h.queues, now: h.clock.now }, { graceMs: 0 });
const settings = (body: Record<string, unknown>) => h.admin({ method: "PUT", url: "/v1/messaging/settings", payload: body }).then((r) => expect(r.statusCode, r.body).toBe(200));

describe("delivery", () => {
  it("cancels a delayed message when the audience stopped holding, and records why", async () => {
    const campaignId = await activeCampaign({
      name: "Abandoned checkout",
      trigger: { type: "event", event: "checkout_started" },
      audience: { event: "order_placed", happened: false },
      steps: [{ delay: { amount: 1, unit: "hours" }, channel: "popup", content: { body: "Forgot something?" } }],
    });
    await h.track("/v1/track", { userId: "quick-buyer", event: "checkout_started" });
    await h.track("/v1/track", { userId: "hesitant", event: "checkout_started" });
    await h.drain();
    expect((await messagesOf(campaignId)).map((m) => m.status)).toEqual(["queued", "queued"]);
    await h.track("/v1/track", { userId: "quick-buyer", event: "order_placed" });
    await h.drain();

    h.clock.set(new Date(Date.now() + 2 * 3_600_000));
    try {
      // The delayed jobs wait on real time; the sweeper promotes what the (moved) clock says is due.
      expect((await sweep()).promoted).toBe(2);
      const rows = await settledMessages(campaignId, 2);
      const byUser = Object.fromEntries(await Promise.all(rows.map(async (r) => [(await h.db.selectFrom("users").select("user_id").where("id", "=", r.user_id).executeTakeFirstOrThrow()).user_id, r])));
      expect(byUser["quick-buyer"]).toMatchObject({ status: "cancelled", reason: "the audience condition no longer holds" });
      expect(byUser["hesitant"]).toMatchObject({ status: "sent" });
    } finally {
      h.clock.real();
    }
    const [cancel] = await decisionsOf("quick-buyer", campaignId);
    expect(cancel.outcome).toBe("cancelled");
    expect(cancel.traces.audience[0]).toMatchObject({ path: "", kind: "event_happened", passed: false });
    expect(cancel.explanation.join("\n")).toMatch(/Cancelled before sending: the audience condition no longer holds/);
  });

  it("re-enqueues a due message whose job was lost (Redis outage)", async () => {
    const campaignId = await activeCampaign({ name: "Lost job", trigger: { type: "event", event: "lost_job" }, steps: [{ delay: { amount: 10, unit: "minutes" }, channel: "popup", content: { body: "Still here" } }] });
    await h.track("/v1/track", { userId: "unlucky", event: "lost_job" });
    await h.drain();
    const [queued] = await messagesOf(campaignId);
    const delayed = await h.queues.get("popup").getDelayed();
    await Promise.all(delayed.filter((j) => j.data.messageId === queued!.id).map((j) => j.remove()));
    h.clock.set(new Date(Date.now() + 11 * 60_000));
    try {
      expect(await sweep()).toEqual({ enqueued: 1, promoted: 0 });
      expect((await settledMessages(campaignId, 1))[0]!.status).toBe("sent");
      expect(await sweep()).toEqual({ enqueued: 0, promoted: 0 });
    } finally {
      h.clock.real();
    }
  });

  it("runs a series step by step, skipping a step whose condition fails and stopping at the goal", async () => {
    const campaignId = await activeCampaign({
      name: "Onboarding",
      trigger: { type: "event", event: "signed_up" },
      goal: { event: "activated" },
      steps: [
        { channel: "popup", content: { body: "Welcome" } },
        { channel: "chat", condition: { property: "plan", op: "eq", value: "pro" }, content: { text: "Pro tips" } },
        { channel: "popup", content: { body: "Day 3" } },
        { channel: "popup", delay: { amount: 2, unit: "days" }, content: { body: "Day 5" } },
      ],
    });
    await h.track("/v1/track", { userId: "newbie", event: "signed_up" });
    const rows = await until(async () => {
      const all = await messagesOf(campaignId);
      const firstThree = all.slice(0, 3);
      return all.length === 4 && firstThree.every((r) => r.status !== "queued" && r.status !== "sending") ? firstThree : null;
    });
    expect(rows.map((r) => [r.step_index, r.channel, r.status])).toEqual([
      [0, "popup", "sent"],
      [1, "chat", "skipped"],
      [2, "popup", "sent"],
    ]);
    expect(rows.every((r) => r.series_id === rows[0]!.id)).toBe(true);
    // The fourth step waits two days; the user reaches the goal meanwhile.
    await h.track("/v1/track", { userId: "newbie", event: "activated" });
    await h.drain();
    h.clock.set(new Date(Date.now() + 3 * 86_400_000));
    try {
      await sweep();
      const [, , , last] = await settledMessages(campaignId, 4);
      expect(last).toMatchObject({ step_index: 3, status: "cancelled", reason: expect.stringMatching(/^the goal "activated" was reached/) });
    } finally {
      h.clock.real();
    }
  });

  it("holds what goes over the project's daily cap, even when sends race", async () => {
    await settings({ dailyCaps: { popup: 2 } });
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push(await activeCampaign({ name: `Cap ${i}`, trigger: { type: "event", event: "flash_sale" }, steps: [{ channel: "popup", content: { body: `Offer ${i}` } }] }));
    await h.track("/v1/track", { userId: "shopper", event: "flash_sale" });
    const rows = (await Promise.all(ids.map((id) => settledMessages(id, 1)))).flat();
    expect(rows.filter((r) => r.status === "sent")).toHaveLength(2);
    const held = rows.filter((r) => r.status === "held");
    expect(held).toHaveLength(4);
    expect(held[0]!.reason).toMatch(/project cap reached: at most 2 popup message\(s\) per user per day/);
    const stats = (await h.admin({ method: "GET", url: `/v1/campaigns/${held[0]!.campaign_id}/stats` })).json();
    expect(stats.total.held).toBe(1);

    // More triggers the same day add no more held copies to the ledger; the decision says why.
    for (let i = 0; i < 3; i++) await h.track("/v1/track", { userId: "shopper", event: "flash_sale" });
    await h.drain();
    expect((await Promise.all(ids.map((id) => messagesOf(id)))).flat()).toHaveLength(6);
    const latest = (await decisionsOf("shopper", held[0]!.campaign_id))[0];
    expect(latest).toMatchObject({ stage: "trigger", outcome: "held", reason: expect.stringMatching(/daily cap held this campaign back .*; it can start again tomorrow/) });
    await settings({});
  });

  it("waits for the end of quiet hours in the project's time zone", async () => {
    await settings({ timeZone: "Europe/Berlin", quietHours: { start: "21:00", end: "08:00" } });
    const campaignId = await activeCampaign({ name: "Night email", trigger: { type: "event", event: "late_visit" }, steps: [{ channel: "email", content: { subject: "Good morning", html: "<p>hi</p>" } }] });
    // 23:30 in Berlin (UTC+1 in January).
    h.clock.set("2026-01-15T22:30:00Z");
    try {
      await h.track("/v1/identify", { userId: "owl", traits: { email: "owl@example.test" } });
      await h.track("/v1/track", { userId: "owl", event: "late_visit", timestamp: "2026-01-15T22:30:00Z" });
      const delayed = await until(async () => (await messagesOf(campaignId)).find((m) => m.scheduled_for.toISOString() === "2026-01-16T07:00:00.000Z"));
      expect(delayed.status).toBe("queued");
      expect((await decisionsOf("owl", campaignId))[0]).toMatchObject({ outcome: "delayed", reason: expect.stringMatching(/quiet hours 21:00–08:00 \(Europe\/Berlin\)/) });
      expect(smtp.to("owl@example.test")).toHaveLength(0);

      h.clock.set("2026-01-16T07:00:30Z");
      await sweep();
      await smtp.waitFor((m) => m.to.includes("owl@example.test"));
      expect((await settledMessages(campaignId, 1))[0]!.status).toBe("sent");
    } finally {
      h.clock.real();
      await settings({});
    }
  });

  it("never sends twice with two workers and duplicate jobs for every message", async () => {
    const second = startWorker({ config: h.config, db: h.db, deliveryPools: h.deliveryPools, queues: h.queues, log: pino({ level: "silent" }), now: h.clock.now }, { sweepIntervalMs: 0, concurrency: 8 });
    try {
      const campaignId = await activeCampaign({ name: "Race", trigger: { type: "event", event: "race" }, steps: [{ channel: "email", content: { subject: "Once {{ user.n }}", html: "<p>once</p>" } }] });
      const users = Array.from({ length: 30 }, (_, i) => `racer-${i}`);
      await h.track("/v1/batch", { batch: users.map((u, n) => ({ type: "identify", userId: u, traits: { email: `${u}@example.test`, n } })) });
      // Every trigger arrives three times (different message ids), and every delivery is enqueued thrice more.
      for (let round = 0; round < 3; round++) await h.track("/v1/batch", { batch: users.map((u) => ({ type: "track", userId: u, event: "race" })) });
      await h.drain();
      const queued = await messagesOf(campaignId);
      expect(queued).toHaveLength(30);
      for (const m of queued) {
        for (let copy = 0; copy < 3; copy++) await h.queues.add("email", { projectId: h.project.id, messageId: m.id }, { jobId: `dup-${m.id}-${copy}` });
      }
      await settledMessages(campaignId, 30);
      await until(async () => smtp.messages.filter((m) => m.to[0]?.startsWith("racer-")).length >= 30);
      await until(async () => (await h.queues.get("email").getJobCounts("waiting", "active")).active === 0);
      for (const u of users) expect(smtp.to(`${u}@example.test`)).toHaveLength(1);
      expect((await messagesOf(campaignId)).every((m) => m.status === "sent")).toBe(true);
    } finally {
      await second.close();
    }
  });

  it("posts the rendered JSON to a webhook with a verifiable signature, retrying 5xx", async () => {
    const received: { body: string; signature: string }[] = [];
    let failures = 1;
    const server = createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        if (failures-- > 0) return void res.writeHead(503).end();
        received.push({ body, signature: String(req.headers["x-nurture-signature"]) });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/crm`;
      const campaignId = await activeCampaign({
        name: "To the CRM",
        trigger: { type: "event", event: "demo_requested" },
        steps: [{ channel: "webhook", content: { url, body: { lead: "{{ user.email }}", company: "{{ event.properties.company }}", hot: true } } }],
      });
      await h.track("/v1/identify", { userId: "lead-1", traits: { email: 'lead@corp.test", "x": "y' } });
      await h.track("/v1/track", { userId: "lead-1", event: "demo_requested", properties: { company: "Acme" } });
      const [row] = await settledMessages(campaignId, 1);
      expect(row!.status).toBe("sent");
      expect(received).toHaveLength(1);
      expect(JSON.parse(received[0]!.body)).toEqual({ lead: 'lead@corp.test", "x": "y', company: "Acme", hot: true });
      const secret = (await h.admin({ method: "GET", url: "/v1/messaging/settings" })).json().webhookSigningSecret;
      const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(received[0]!.signature)!;
      expect(createHmac("sha256", secret).update(`${t}.${received[0]!.body}`).digest("hex")).toBe(v1);
      expect((await decisionsOf("lead-1", campaignId)).map((d: { outcome: string }) => d.outcome)).toEqual(["sent", "retrying", "queued"]);
    } finally {
      server.close();
    }
  });
});
