import { createHarness, type Harness } from "@nurture/testkit";
import { SignJWT } from "jose";
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

async function activeCampaign(body: Record<string, unknown>): Promise<string> {
  const created = await h.admin({ method: "POST", url: "/v1/campaigns", payload: body });
  expect(created.statusCode, created.body).toBe(201);
  await h.admin({ method: "POST", url: `/v1/campaigns/${created.json().id}/status`, payload: { status: "active" } });
  return created.json().id;
}

const inbox = (query: Record<string, string>, headers: Record<string, string> = {}) =>
  h.app.inject({ method: "GET", url: `/v1/widget/messages?${new URLSearchParams({ writeKey: h.project.writeKey, ...query })}`, headers });

/** As the tracker sends it: JSON in a text/plain body, so browsers skip the CORS preflight. */
const act = (id: string, action: string, body: Record<string, string>, headers: Record<string, string> = {}) =>
  h.app.inject({
    method: "POST",
    url: `/v1/widget/messages/${id}/${action}`,
    headers: { "content-type": "text/plain", ...headers },
    payload: JSON.stringify({ writeKey: h.project.writeKey, ...body }),
  });

const waitForInbox = (query: Record<string, string>, count = 1, headers: Record<string, string> = {}) =>
  until(async () => {
    const res = await inbox(query, headers);
    return res.statusCode === 200 && res.json().messages.length >= count ? res.json().messages : null;
  });

describe("widget inbox", () => {
  it("shows a triggered popup and counts the click", async () => {
    const campaignId = await activeCampaign({
      name: "Welcome popup",
      trigger: { type: "event", event: "$page", where: [{ property: "path", op: "eq", value: "/pricing" }] },
      steps: [{ channel: "popup", content: { title: "Hi {{ user.name | default: \"there\" }}", body: "<b>10% off</b> today", buttonLabel: "Shop", buttonUrl: "https://shop.test/sale" } }],
    });
    await h.track("/v1/page", { anonymousId: "visitor-1", name: "Pricing", properties: { path: "/pricing" } });
    const [message] = await waitForInbox({ anonymousId: "visitor-1" });
    expect(message).toMatchObject({ channel: "popup", content: { title: "Hi there", body: "<b>10% off</b> today", buttonLabel: "Shop", buttonUrl: "https://shop.test/sale" } });
    expect(new Date(message.createdAt).toString()).not.toBe("Invalid Date");

    expect((await act(message.id, "shown", { anonymousId: "visitor-1" })).statusCode).toBe(200);
    expect((await act(message.id, "clicked", { anonymousId: "visitor-1" })).statusCode).toBe(200);
    expect((await inbox({ anonymousId: "visitor-1" })).json().messages).toEqual([]);

    const stats = (await h.admin({ method: "GET", url: `/v1/campaigns/${campaignId}/stats` })).json();
    expect(stats.total).toMatchObject({ sent: 1, delivered: 1, clicked: 1 });
    await h.drain();
    const card = (await h.admin({ method: "GET", url: "/v1/users/visitor-1" })).json();
    expect(card.messages[0]).toMatchObject({ channel: "popup", status: "clicked" });
    expect(card.eventStats.$message_clicked.count).toBe(1);
  });

  it("holds a waiting request until a popup arrives, and answers empty when none does", async () => {
    await activeCampaign({ name: "Live popup", trigger: { type: "event", event: "asked_for_help" }, steps: [{ channel: "popup", content: { body: "Here to help" } }] });
    await h.track("/v1/track", { anonymousId: "patient", event: "browsed" });
    await h.drain();
    const started = Date.now();
    const waiting = inbox({ anonymousId: "patient", wait: "20" });
    await h.track("/v1/track", { anonymousId: "patient", event: "asked_for_help" });
    const res = await waiting;
    expect(res.json().messages).toMatchObject([{ channel: "popup", content: { body: "Here to help" } }]);
    // Woken by the worker's signal, not by the request's own look again after 5 s.
    expect(Date.now() - started).toBeLessThan(4_500);
    // Answered with the message the signal brought: just as a look at the inbox shows it.
    expect(res.json().messages).toEqual((await inbox({ anonymousId: "patient" })).json().messages);

    const quiet = Date.now();
    expect((await inbox({ anonymousId: "nobody-writes-to-me", wait: "1" })).json()).toEqual({ messages: [] });
    expect(Date.now() - quiet).toBeGreaterThanOrEqual(900);

    const tooLong = await inbox({ anonymousId: "patient", wait: "600" });
    expect(tooLong.statusCode).toBe(400);
    expect(tooLong.json().error.details[0].path).toBe("querystring.wait");
  });

  it("keeps one visitor out of another's inbox", async () => {
    await activeCampaign({ name: "Nudge", trigger: { type: "event", event: "nudge_me" }, steps: [{ channel: "popup", content: { body: "psst" } }] });
    await h.track("/v1/track", { anonymousId: "owner", event: "nudge_me" });
    const [message] = await waitForInbox({ anonymousId: "owner" });
    await h.track("/v1/track", { anonymousId: "stranger", event: "other" });
    await h.drain();
    expect((await inbox({ anonymousId: "stranger" })).json().messages).toEqual([]);
    expect((await act(message.id, "dismissed", { anonymousId: "stranger" })).statusCode).toBe(404);
    expect((await act(message.id, "dismissed", { anonymousId: "owner" })).statusCode).toBe(200);
    expect((await inbox({ anonymousId: "owner" })).json().messages).toEqual([]);
    expect((await inbox({ anonymousId: "owner", writeKey: "wk_wrong" })).statusCode).toBe(401);
  });

  it("puts a message due at once in the inbox as sent, on the record, with its series going on", async () => {
    const campaignId = await activeCampaign({
      name: "Welcome chat",
      trigger: { type: "event", event: "opened_app" },
      steps: [
        { channel: "chat", content: { text: "Welcome, {{ user.name }}", senderName: "Maya" } },
        { channel: "popup", delay: { amount: 1, unit: "seconds" }, content: { body: "Still there?" } },
      ],
    });
    await h.track("/v1/identify", { userId: "nina", anonymousId: "nina-phone", traits: { name: "Nina" } });
    await h.track("/v1/track", { userId: "nina", event: "opened_app" });
    const [chat] = await waitForInbox({ anonymousId: "nina-phone", userId: "nina" });
    expect(chat).toMatchObject({ channel: "chat", content: { text: "Welcome, Nina", senderName: "Maya" } });

    const card = (await h.admin({ method: "GET", url: "/v1/users/nina" })).json();
    expect(card.messages.filter((m: { campaignId: string }) => m.campaignId === campaignId).map((m: { status: string }) => m.status)).toContain("sent");
    expect(card.conversation.map((l: { direction: string; author: string; text: string }) => [l.direction, l.author, l.text])).toEqual([["out", "Maya", "Welcome, Nina"]]);
    const decisions = (await h.admin({ method: "GET", url: `/v1/users/nina/decisions?campaign=${campaignId}` })).json().items;
    expect(decisions.map((d: { stage: string; outcome: string }) => `${d.stage}:${d.outcome}`).reverse().slice(0, 2)).toEqual(["trigger:queued", "send:sent"]);
    expect(decisions.find((d: { outcome: string }) => d.outcome === "sent").explanation.join(" ")).toMatch(/chat to the on-site inbox/);

    // The second step follows through the popup queue a second later.
    const messages = await waitForInbox({ anonymousId: "nina-phone", userId: "nina" }, 2);
    expect(messages.map((m: { channel: string }) => m.channel)).toEqual(["chat", "popup"]);
  });

  it("puts a chat reply on the card and lets it trigger another campaign", async () => {
    await activeCampaign({ name: "Chat hello", trigger: { type: "event", event: "viewed_payment_form" }, steps: [{ channel: "chat", content: { text: "Need help paying, {{ user.name }}?", senderName: "Maya" } }] });
    const followUp = await activeCampaign({
      name: "Reply follow-up",
      trigger: { type: "event", event: "$message_replied" },
      steps: [{ channel: "chat", content: { text: "Thanks! You wrote: {{ event.properties.text }}", senderName: "Maya" } }],
    });
    await h.track("/v1/identify", { userId: "carl", anonymousId: "carl-browser", traits: { name: "Carl" } });
    await h.track("/v1/track", { userId: "carl", event: "viewed_payment_form" });
    const [chat] = await waitForInbox({ anonymousId: "carl-browser", userId: "carl" });
    expect(chat).toMatchObject({ channel: "chat", content: { text: "Need help paying, Carl?", senderName: "Maya" } });

    expect((await act(chat.id, "reply", { anonymousId: "carl-browser", userId: "carl" })).statusCode).toBe(400);
    expect((await act(chat.id, "reply", { anonymousId: "carl-browser", userId: "carl", text: "Is PayPal ok? {{ 7 | times: 6 }}" })).statusCode).toBe(200);
    const [answer] = await waitForInbox({ anonymousId: "carl-browser", userId: "carl" });
    expect(answer.content.text).toBe("Thanks! You wrote: Is PayPal ok? {{ 7 | times: 6 }}");

    const card = (await h.admin({ method: "GET", url: "/v1/users/carl" })).json();
    expect(card.conversation.map((l: { direction: string; text: string }) => [l.direction, l.text])).toEqual([
      ["out", "Need help paying, Carl?"],
      ["in", "Is PayPal ok? {{ 7 | times: 6 }}"],
      ["out", "Thanks! You wrote: Is PayPal ok? {{ 7 | times: 6 }}"],
    ]);
    expect(card.eventStats.$message_replied.count).toBe(1);
    expect(card.messages.find((m: { campaignId: string }) => m.campaignId !== followUp).status).toBe("replied");
  });
});

describe("merged cards", () => {
  it("moves an anonymous visitor's messages to the known card, so a once-campaign is not sent again", async () => {
    const campaignId = await activeCampaign({ name: "Once popup", trigger: { type: "event", event: "saw_offer" }, steps: [{ channel: "popup", content: { body: "Offer" } }] });
    await h.track("/v1/identify", { userId: "erin", anonymousId: "erin-phone" });
    await h.track("/v1/track", { anonymousId: "erin-laptop", event: "saw_offer" });
    const [popup] = await waitForInbox({ anonymousId: "erin-laptop" });
    await h.track("/v1/identify", { userId: "erin", anonymousId: "erin-laptop" });
    await h.drain();
    await h.track("/v1/track", { userId: "erin", event: "saw_offer" });
    await h.drain();
    const card = (await h.admin({ method: "GET", url: "/v1/users/erin" })).json();
    expect(card.messages.filter((m: { campaignId: string }) => m.campaignId === campaignId).map((m: { id: string }) => m.id)).toEqual([popup.id]);
    const [latest] = (await h.admin({ method: "GET", url: `/v1/users/erin/decisions?campaign=${campaignId}` })).json().items;
    expect(latest.outcome).toBe("already_received");
    // The popup is still pending in the (now known) visitor's inbox.
    expect((await inbox({ anonymousId: "erin-laptop", userId: "erin" })).json().messages.map((m: { id: string }) => m.id)).toEqual([popup.id]);
  });
});

describe("widget identity verification", () => {
  let secret: string;
  const token = (sub: string, key = secret, expiresIn = "10m") =>
    new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject(sub).setIssuedAt().setExpirationTime(expiresIn).sign(new TextEncoder().encode(key));

  beforeAll(async () => {
    await activeCampaign({ name: "Private chat", trigger: { type: "event", event: "asked_for_help" }, steps: [{ channel: "chat", content: { text: "Your order #123 ships today" } }] });
    await h.track("/v1/identify", { userId: "dora", anonymousId: "dora-laptop" });
    await h.track("/v1/track", { userId: "dora", event: "asked_for_help" });
    await waitForInbox({ anonymousId: "dora-laptop", userId: "dora" });
    const res = await h.admin({ method: "POST", url: "/v1/project/identity-verification/secret" });
    expect(res.statusCode, res.body).toBe(200);
    secret = res.json().secret;
  });

  it("opens the inbox only with a valid token for that user", async () => {
    const who = { anonymousId: "attacker", userId: "dora" };
    expect((await inbox(who)).statusCode).toBe(401);
    expect((await inbox(who, { "x-nurture-identity": await token("dora", "not-the-project-secret-0123456789") })).statusCode).toBe(401);
    expect((await inbox(who, { "x-nurture-identity": await token("someone-else") })).statusCode).toBe(401);
    const expired = await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject("dora").setExpirationTime(Math.floor(Date.now() / 1000) - 3600).sign(new TextEncoder().encode(secret));
    expect((await inbox(who, { "x-nurture-identity": expired })).statusCode).toBe(401);
    const ok = await inbox(who, { "x-nurture-identity": await token("dora") });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().messages.find((m: { channel: string }) => m.channel === "chat").content.text).toBe("Your order #123 ships today");
  });

  it("does not open an identified user's inbox through their anonymous id alone", async () => {
    expect((await inbox({ anonymousId: "dora-laptop" })).statusCode).toBe(401);
    const [message] = (await inbox({ anonymousId: "dora-laptop" }, { "x-nurture-identity": await token("dora") })).json().messages;
    expect((await act(message.id, "reply", { anonymousId: "dora-laptop", text: "hi" })).statusCode).toBe(401);
    expect((await act(message.id, "reply", { anonymousId: "dora-laptop", userId: "dora", text: "hi" }, { "x-nurture-identity": await token("dora") })).statusCode).toBe(200);
  });

  it("still serves anonymous visitors without a token", async () => {
    expect((await inbox({ anonymousId: "brand-new-visitor" })).json()).toEqual({ messages: [] });
  });
});

describe("an API process holding as many waiting widget requests as it may", () => {
  let full: Harness;
  beforeAll(async () => {
    full = await createHarness({ config: { WIDGET_MAX_WAITING: "1" } });
  });
  afterAll(async () => full.close());

  it("answers a further waiting request at once with what the inbox holds", async () => {
    const ask = (anonymousId: string) =>
      full.app.inject({ method: "GET", url: `/v1/widget/messages?${new URLSearchParams({ writeKey: full.project.writeKey, anonymousId, wait: "20" })}` });
    const requests = [ask("first-visitor"), ask("second-visitor")];
    const settled = requests.map(() => false);
    requests.forEach((r, i) => void r.then(() => (settled[i] = true)));
    // One of the two is held for up to 20 s; the other is answered without waiting.
    const answered = await Promise.race(requests);
    expect(answered.statusCode).toBe(200);
    expect(answered.json()).toEqual({ messages: [] });
    await new Promise((r) => setTimeout(r, 200));
    expect(settled.filter(Boolean)).toHaveLength(1);
  });
});
