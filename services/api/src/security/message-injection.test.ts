import { createHarness, startSmtpSink, type Harness, type ReceivedMail, type SmtpSink } from "@nurture/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let h: Harness;
let smtp: SmtpSink;
/** Every RCPT TO the server was asked for, accepted or not. */
const recipientsSeen: string[] = [];

beforeAll(async () => {
  smtp = await startSmtpSink();
  smtp.onRecipientSeen((address) => recipientsSeen.push(address.toLowerCase()));
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

type CardMessage = { campaignId: string; status: string };
const messagesOf = async (userId: string, campaignId: string): Promise<CardMessage[]> =>
  ((await h.admin({ method: "GET", url: `/v1/users/${encodeURIComponent(userId)}` })).json().messages ?? []).filter((m: CardMessage) => m.campaignId === campaignId);
/** Waits until the campaign's message to each user has reached a final state (sent, skipped, failed…). */
const settled = (userIds: string[], campaignId: string) =>
  until(async () => {
    const all = await Promise.all(userIds.map((u) => messagesOf(u, campaignId)));
    return all.every((ms) => ms.length > 0 && ms.every((m) => !["queued", "sending", "scheduled"].includes(m.status))) ? all.map((ms) => ms[0]!) : null;
  });

async function activeCampaign(body: Record<string, unknown>): Promise<string> {
  const created = await h.admin({ method: "POST", url: "/v1/campaigns", payload: body });
  expect(created.statusCode, created.body).toBe(201);
  const activated = await h.admin({ method: "POST", url: `/v1/campaigns/${created.json().id}/status`, payload: { status: "active" } });
  expect(activated.statusCode, activated.body).toBe(200);
  return created.json().id;
}

/** The header block exactly as sent, folded lines joined. */
const headerLines = (mail: ReceivedMail) =>
  mail.raw
    .toString("utf8")
    .split(/\r?\n\r?\n/)[0]!
    .replace(/\r?\n[ \t]+/g, " ")
    .split(/\r?\n/);
const headerCount = (mail: ReceivedMail, name: string) => headerLines(mail).filter((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`)).length;

describe("hostile names, subjects and trait values in email", () => {
  const names: Record<string, string> = {
    crlf: "Eve\r\nBcc: attacker@evil.test",
    lf: "Eve\nSubject: pwned\n\nInjected body",
    display: '"Evil, Inc" <attacker@evil.test>',
    encoded: "=?utf-8?q?attacker=40evil.test?=",
    controls: "Eve\u0000\u2028\u0085\u001b[31m",
    template: "{{ 7 | times: 6 }}{% assign x = 'leak' %}{{ unsubscribe_url }}{{ user.email }}",
    markup: "<script>alert(1)</script><img src=x onerror=alert(2)>",
    long: "Ann ".repeat(1_000),
  };
  const mails: Record<string, ReceivedMail> = {};

  beforeAll(async () => {
    const campaignId = await activeCampaign({
      name: "Hostile data",
      trigger: { type: "event", event: "hostile_test" },
      steps: [
        {
          channel: "email",
          content: {
            fromName: "Shop",
            fromAddress: "hello@shop.test",
            subject: "Hello {{ user.name }} {{ event.properties.note }}",
            html: '<p>Hi {{ user.name }}</p><p>{{ event.properties.note }}</p><a href="https://shop.test/?who={{ user.name | url_encode }}">shop</a>',
          },
        },
      ],
    });
    for (const [key, name] of Object.entries(names)) {
      expect((await h.track("/v1/identify", { userId: `user-${key}`, traits: { name, email: `${key}@good.test` } })).statusCode).toBe(200);
      expect((await h.track("/v1/track", { userId: `user-${key}`, event: "hostile_test", properties: { note: "\r\nX-Injected: yes\r\n" } })).statusCode).toBe(200);
    }
    const outcomes = await settled(Object.keys(names).map((k) => `user-${k}`), campaignId);
    expect(outcomes.map((m) => m.status)).toEqual(Object.keys(names).map(() => "delivered"));
    for (const key of Object.keys(names)) mails[key] = await smtp.waitFor((m) => m.to.includes(`${key}@good.test`));
  });

  it("go to exactly one recipient each, the user's own address", () => {
    for (const [key, mail] of Object.entries(mails)) {
      expect(mail.to, key).toEqual([`${key}@good.test`]);
      expect(mail.parsed.to && !Array.isArray(mail.parsed.to) ? mail.parsed.to.value.map((a) => a.address) : null, key).toEqual([`${key}@good.test`]);
    }
    expect(recipientsSeen.filter((r) => r.includes("evil.test"))).toEqual([]);
  });

  it("never add a header", () => {
    for (const [key, mail] of Object.entries(mails)) {
      for (const header of ["Bcc", "Cc", "X-Injected"]) expect(headerCount(mail, header), `${key}: ${header}`).toBe(0);
      for (const header of ["Subject", "To", "From"]) expect(headerCount(mail, header), `${key}: ${header}`).toBe(1);
      expect(mail.parsed.subject, key).not.toMatch(/[\r\n\0]/);
      expect(mail.parsed.headers.get("x-injected"), key).toBeUndefined();
    }
    expect(mails.lf!.parsed.subject).toContain("Subject: pwned Injected body");
  });

  it("render trait values as data, never as template code", () => {
    const mail = mails.template!;
    expect(mail.parsed.subject).toContain("{{ 7 | times: 6 }}{% assign x = 'leak' %}{{ unsubscribe_url }}{{ user.email }}");
    expect(mail.parsed.subject).not.toContain("42");
    expect(mail.parsed.subject).not.toContain("template@good.test");
  });

  it("escape markup in the HTML part", () => {
    const html = String(mails.markup!.parsed.html);
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;");
    expect(html).not.toMatch(/<script|<img src=x/i);
  });
});

describe("address tricks", () => {
  const tricks: Record<string, string> = {
    list: "victim@good.test, attacker@evil.test",
    semicolon: "victim@good.test;attacker@evil.test",
    display: "attacker@evil.test <victim@good.test>",
    displayReversed: '"victim@good.test" <attacker@evil.test>',
    crlf: "victim@good.test\r\nBcc: attacker@evil.test",
    lf: "victim@good.test\nattacker@evil.test",
    nul: "attacker@evil.test\u0000@good.test",
    comment: "attacker@evil.test (victim@good.test)",
    quotedLocal: '"attacker@evil.test"@good.test',
    sourceRoute: "@evil.test:victim@good.test",
    literal: "victim@[10.0.0.1]",
    angle: "victim@good.test>attacker@evil.test",
    percent: "victim%good.test@evil.test@good.test",
    encoded: "=?utf-8?q?attacker=40evil.test?= <victim@good.test>",
    trailingDot: "victim@good.test.",
  };
  const fine: Record<string, string> = { padded: "  padded@good.test  ", upper: "UPPER@GOOD.TEST" };

  it("never mail another domain: the message goes to the one mailbox written, or is skipped", async () => {
    const campaignId = await activeCampaign({
      name: "Address tricks",
      trigger: { type: "event", event: "address_test" },
      steps: [{ channel: "email", content: { subject: "Hi", html: "<p>Hi</p>" } }],
    });
    const all = { ...tricks, ...fine };
    for (const [key, email] of Object.entries(all)) {
      await h.track("/v1/identify", { userId: `addr-${key}`, traits: { email } });
      await h.track("/v1/track", { userId: `addr-${key}`, event: "address_test" });
    }
    const outcomes = await settled(Object.keys(all).map((k) => `addr-${k}`), campaignId);
    const byKey = Object.fromEntries(Object.keys(all).map((k, i) => [k, outcomes[i]!.status]));
    for (const key of Object.keys(tricks)) expect(byKey[key], key).toBe("skipped");
    for (const key of Object.keys(fine)) expect(byKey[key], key).toBe("delivered");

    expect(recipientsSeen.filter((r) => r.includes("evil.test") || r.includes("10.0.0.1"))).toEqual([]);
    expect((await smtp.waitFor((m) => m.to.includes("padded@good.test"))).to).toEqual(["padded@good.test"]);
    expect((await smtp.waitFor((m) => m.to.some((t) => t.toLowerCase() === "upper@good.test"))).to).toHaveLength(1);
    expect(smtp.messages.every((m) => m.to.length === 1)).toBe(true);
  });
});

describe("campaign fields that become headers", () => {
  it.each([
    ["fromName with CR/LF", { fromName: "Shop\r\nBcc: attacker@evil.test" }, "fromName"],
    ["fromAddress with CR/LF", { fromAddress: "hello@shop.test\r\nBcc: attacker@evil.test" }, "fromAddress"],
    ["fromAddress with a display name", { fromAddress: "Shop <hello@shop.test>" }, "fromAddress"],
    ["replyTo with two addresses", { replyTo: "a@shop.test, attacker@evil.test" }, "replyTo"],
  ])("are refused when saved (%s)", async (_, content, field) => {
    const res = await h.admin({
      method: "POST",
      url: "/v1/campaigns",
      payload: { name: "Bad headers", trigger: { type: "event", event: "x" }, steps: [{ channel: "email", content: { subject: "Hi", html: "<p>Hi</p>", ...content } }] },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details.map((d: { path: string }) => d.path).join(" ")).toContain(field);
  });
});

describe("widget content", () => {
  it("carries trait values as plain data: not run as templates, no script links", async () => {
    const campaignId = await activeCampaign({
      name: "Hostile popup",
      trigger: { type: "event", event: "popup_test" },
      steps: [{ channel: "popup", content: { title: "Hi {{ user.name }}", body: "For {{ user.name }}", buttonLabel: "Go", buttonUrl: "{{ user.website }}" } }],
    });
    const name = "<img src=x onerror=alert(1)>{{ 7 | times: 6 }}</div><script>alert(2)</script>";
    await h.track("/v1/identify", { userId: "popup-user", anonymousId: "popup-device", traits: { name, website: "javascript:alert(document.cookie)" } });
    await h.track("/v1/track", { userId: "popup-user", event: "popup_test" });
    await settled(["popup-user"], campaignId);

    const res = await h.app.inject({
      method: "GET",
      url: "/v1/widget/messages?anonymousId=popup-device&userId=popup-user",
      headers: { authorization: `Basic ${Buffer.from(`${h.project.writeKey}:`).toString("base64")}` },
    });
    expect(res.statusCode).toBe(200);
    // JSON, never HTML a browser could sniff: the widget puts these strings in the page as text.
    expect(res.headers["content-type"]).toMatch(/^application\/json/);
    const [popup] = res.json().messages;
    expect(popup.content).toEqual({ title: `Hi ${name}`, body: `For ${name}`, buttonLabel: "Go" });
  });
});
