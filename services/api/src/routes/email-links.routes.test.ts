import { createHarness, startSmtpSink, type Harness, type SmtpSink } from "@nurture/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

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

async function until<T>(fn: () => Promise<T | undefined | null | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}

const card = async (id: string) => (await h.admin({ method: "GET", url: `/v1/users/${encodeURIComponent(id)}` })).json();

async function activeCampaign(body: Record<string, unknown>): Promise<{ id: string; steps: { id: string }[] }> {
  const created = await h.admin({ method: "POST", url: "/v1/campaigns", payload: body });
  expect(created.statusCode, created.body).toBe(201);
  const activated = await h.admin({ method: "POST", url: `/v1/campaigns/${created.json().id}/status`, payload: { status: "active" } });
  expect(activated.statusCode, activated.body).toBe(200);
  return created.json();
}

const pathOf = (url: string) => new URL(url).pathname;
/** A header exactly as it went over the wire (unfolded). */
const rawHeader = (mail: { raw: Buffer }, name: string) => {
  const head = mail.raw.toString("utf8").split(/\r?\n\r?\n/)[0]!.replace(/\r?\n[ \t]+/g, " ");
  return new RegExp(`^${name}: (.*)$`, "im").exec(head)?.[1] ?? null;
};

describe("email campaigns over real SMTP", () => {
  let campaign: { id: string };
  let mail: Awaited<ReturnType<SmtpSink["waitFor"]>>;

  beforeAll(async () => {
    campaign = await activeCampaign({
      name: "Abandoned cart",
      trigger: { type: "event", event: "cart_abandoned", where: [{ property: "total", op: "gt", value: 0 }] },
      steps: [
        {
          channel: "email",
          content: {
            fromName: "Shop",
            fromAddress: "hello@shop.test",
            subject: "{{ user.name | default: \"friend\" }}, your cart of {{ event.properties.total }} is waiting",
            html: '<p>Hi {{ user.name }}</p><p><a href="https://shop.test/cart?from=email">Back to your cart</a></p><p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>',
          },
        },
      ],
    });
    await h.track("/v1/identify", { userId: "ann", traits: { name: "Ann <Admin>", email: "ann@example.test" } });
    await h.track("/v1/track", { userId: "ann", event: "cart_abandoned", properties: { total: 42 } });
    mail = await smtp.waitFor((m) => m.to.includes("ann@example.test"));
  });

  it("sends the rendered email with one-click unsubscribe headers", () => {
    expect(mail.parsed.subject).toBe("Ann <Admin>, your cart of 42 is waiting");
    expect(mail.parsed.from?.value[0]).toEqual({ name: "Shop", address: "hello@shop.test" });
    expect(mail.parsed.html).toContain("<p>Hi Ann &lt;Admin&gt;</p>");
    expect(mail.parsed.text).toContain("Hi Ann <Admin>");
    expect(rawHeader(mail, "List-Unsubscribe")).toMatch(/^<http:\/\/127\.0\.0\.1:3000\/email\/unsubscribe\/[^>]+>/);
    expect(rawHeader(mail, "List-Unsubscribe-Post")).toBe("List-Unsubscribe=One-Click");
    expect(rawHeader(mail, "Bcc")).toBeNull();
    expect(mail.parsed.messageId).toMatch(/^<nurture\.\d+\./);
  });

  it("shows the message on the card and explains the decision", async () => {
    // The SMTP server has the mail before the worker records the outcome: wait for the ledger.
    await expect.poll(async () => (await card("ann")).messages?.[0]?.status, { timeout: 10_000 }).toBe("delivered");
    const ann = await card("ann");
    expect(ann.messages).toHaveLength(1);
    expect(ann.messages[0]).toMatchObject({ campaignId: campaign.id, channel: "email", status: "delivered", summary: "Ann <Admin>, your cart of 42 is waiting", recipient: "ann@example.test" });
    const decisions = (await h.admin({ method: "GET", url: `/v1/users/ann/decisions?campaign=${campaign.id}` })).json().items;
    expect(decisions.map((d: { outcome: string }) => d.outcome)).toEqual(["sent", "queued"]);
    expect(decisions[0].explanation[0]).toMatch(/^Sent: email to ann@example.test/);
  });

  it("counts opens and clicks and redirects to the real link", async () => {
    const html = mail.parsed.html as string;
    const pixel = /<img src="([^"]+)"/.exec(html)![1]!;
    const click = /<a href="([^"]+)">Back to your cart/.exec(html)![1]!.replace(/&amp;/g, "&");
    const opened = await h.app.inject({ method: "GET", url: pathOf(pixel) });
    expect(opened.statusCode).toBe(200);
    expect(opened.headers["content-type"]).toBe("image/gif");
    const clicked = await h.app.inject({ method: "GET", url: pathOf(click) });
    expect(clicked.statusCode).toBe(302);
    expect(clicked.headers.location).toBe("https://shop.test/cart?from=email");
    // A forged click link redirects nowhere.
    expect((await h.app.inject({ method: "GET", url: `${pathOf(click).slice(0, -3)}abc` })).statusCode).toBe(404);

    const stats = (await h.admin({ method: "GET", url: `/v1/campaigns/${campaign.id}/stats` })).json();
    expect(stats.total).toMatchObject({ sent: 1, delivered: 1, opened: 1, clicked: 1, failed: 0 });
    expect(stats.triggered).toBe(1);
    await h.drain();
    expect((await card("ann")).eventStats).toMatchObject({ $email_opened: { count: 1 }, $email_clicked: { count: 1 } });
  });

  it("changes nothing on GET of the unsubscribe link and unsubscribes on the one-click POST", async () => {
    const url = pathOf(/<([^>]+)>/.exec(rawHeader(mail, "List-Unsubscribe")!)![1]!);
    const page = await h.app.inject({ method: "GET", url });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain("<form method=\"post\"");
    expect((await card("ann")).emailUnsubscribed).toBe(false);

    const post = await h.app.inject({ method: "POST", url, headers: { "content-type": "application/x-www-form-urlencoded" }, payload: "List-Unsubscribe=One-Click" });
    expect(post.statusCode).toBe(200);
    expect((await card("ann")).emailUnsubscribed).toBe(true);
    expect((await h.app.inject({ method: "POST", url, payload: "" })).statusCode).toBe(200);
    expect((await h.admin({ method: "GET", url: `/v1/campaigns/${campaign.id}/stats` })).json().total.unsubscribed).toBe(1);
    // A tampered token is refused.
    expect((await h.app.inject({ method: "POST", url: `${url.slice(0, -2)}xx` })).statusCode).toBe(404);
  });

  it("never emails an unsubscribed user, and says why", async () => {
    const other = await activeCampaign({
      name: "Second",
      trigger: { type: "event", event: "cart_abandoned" },
      steps: [{ channel: "email", content: { subject: "again", html: "<p>again</p>" } }],
    });
    await h.track("/v1/track", { userId: "ann", event: "cart_abandoned", properties: { total: 5 } });
    const message = await until(async () => (await card("ann")).messages.find((m: { campaignId: string; status: string }) => m.campaignId === other.id && m.status !== "queued" && m.status !== "sending"));
    expect(message).toMatchObject({ status: "skipped", reason: expect.stringMatching(/unsubscribed from email/) });
    expect(smtp.to("ann@example.test")).toHaveLength(1);
  });

  it("answers a one-click unsubscribe only after the email being sent finishes, and sends none after it", async () => {
    const first = await activeCampaign({ name: "Bob 1", trigger: { type: "event", event: "bob_first" }, steps: [{ channel: "email", content: { subject: "One", html: "<p>1</p>" } }] });
    await h.track("/v1/identify", { userId: "bob", traits: { email: "bob@example.test" } });
    await h.track("/v1/track", { userId: "bob", event: "bob_first" });
    const firstMail = await smtp.waitFor((m) => m.to.includes("bob@example.test"));
    const unsubscribe = pathOf(/<([^>]+)>/.exec(rawHeader(firstMail, "List-Unsubscribe")!)![1]!);
    await expect.poll(async () => (await card("bob")).messages.find((m: { campaignId: string }) => m.campaignId === first.id)?.status).toBe("delivered");

    // The second email is in the middle of its SMTP conversation when the visitor unsubscribes.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const inFlight = new Promise<void>((resolve) => smtp.onRecipientSeen((a) => a === "bob@example.test" && resolve()));
    smtp.onRecipient((a) => (a === "bob@example.test" ? { hold: held } : null));
    await activeCampaign({ name: "Bob 2", trigger: { type: "event", event: "bob_second" }, steps: [{ channel: "email", content: { subject: "Two", html: "<p>2</p>" } }] });
    await h.track("/v1/track", { userId: "bob", event: "bob_second" });
    await inFlight;

    let answeredAt: number | null = null;
    const post = h.app.inject({ method: "POST", url: unsubscribe, headers: { "content-type": "application/x-www-form-urlencoded" }, payload: "List-Unsubscribe=One-Click" }).then((res) => {
      answeredAt = Date.now();
      return res;
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(answeredAt).toBeNull();
    release();
    expect((await post).statusCode).toBe(200);
    smtp.onRecipient(() => null);
    const second = smtp.to("bob@example.test").find((m) => m.parsed.subject === "Two");
    expect(second?.receivedAt.getTime()).toBeLessThanOrEqual(answeredAt!);

    const third = await activeCampaign({ name: "Bob 3", trigger: { type: "event", event: "bob_third" }, steps: [{ channel: "email", content: { subject: "Three", html: "<p>3</p>" } }] });
    await h.track("/v1/track", { userId: "bob", event: "bob_third" });
    const skipped = await until(async () => (await card("bob")).messages.find((m: { campaignId: string; status: string }) => m.campaignId === third.id && m.status !== "queued"));
    expect(skipped).toMatchObject({ status: "skipped", reason: expect.stringMatching(/unsubscribed from email/) });
    expect(smtp.to("bob@example.test").map((m) => m.parsed.subject)).toEqual(["One", "Two"]);
  });

  it("skips users without an address and users whose address would inject headers", async () => {
    const c = await activeCampaign({ name: "Welcome", trigger: { type: "event", event: "signed_up" }, steps: [{ channel: "email", content: { subject: "Welcome", html: "<p>hi</p>" } }] });
    await h.track("/v1/track", { userId: "noaddr", event: "signed_up" });
    await h.track("/v1/identify", { userId: "evil", traits: { email: "x@evil.test\r\nBcc: victim@else.test" } });
    await h.track("/v1/track", { userId: "evil", event: "signed_up" });
    const reasons = await until(async () => {
      const rows = await h.db.selectFrom("messages").select(["status", "reason"]).where("campaign_id", "=", c.id).where("status", "=", "skipped").execute();
      return rows.length === 2 ? rows.map((r) => r.reason).sort() : null;
    });
    expect(reasons[0]).toMatch(/not valid/);
    expect(reasons[1]).toMatch(/no email address/);
    expect(smtp.messages.some((m) => m.to.includes("victim@else.test"))).toBe(false);
  });

  it("fails a 5xx for good and suppresses a hard-bounced address; retries a 4xx", async () => {
    let softFailures = 1;
    smtp.onRecipient((address) => {
      if (address === "gone@example.test") return { code: 550, message: "No such user" };
      if (address === "busy@example.test" && softFailures > 0) {
        softFailures -= 1;
        return { code: 451, message: "Try again later" };
      }
      return null;
    });
    const c = await activeCampaign({ name: "Bounce", trigger: { type: "event", event: "bounce_me" }, repeat: { mode: "every", days: 1 }, steps: [{ channel: "email", content: { subject: "Hi", html: "<p>x</p>" } }] });
    for (const id of ["gone", "busy"]) {
      await h.track("/v1/identify", { userId: id, traits: { email: `${id}@example.test` } });
      await h.track("/v1/track", { userId: id, event: "bounce_me" });
    }
    await smtp.waitFor((m) => m.to.includes("busy@example.test"));
    const gone = await until(async () => (await card("gone")).messages.find((m: { status: string }) => m.status === "failed"));
    expect(gone.reason).toMatch(/SMTP 550/);
    const suppressed = await h.db.selectFrom("email_suppressions").selectAll().where("address", "=", "gone@example.test").executeTakeFirst();
    expect(suppressed?.reason).toBe("hard_bounce");
    const busyDecisions = (await h.admin({ method: "GET", url: `/v1/users/busy/decisions?campaign=${c.id}` })).json().items.map((d: { outcome: string }) => d.outcome);
    expect(busyDecisions).toEqual(["sent", "retrying", "queued"]);

    // The next trigger for the suppressed address is skipped without touching SMTP.
    h.clock.set(new Date(Date.now() + 2 * 86_400_000));
    try {
      await h.track("/v1/track", { userId: "gone", event: "bounce_me", timestamp: h.clock.now().toISOString() });
      const skipped = await until(async () => (await card("gone")).messages.find((m: { status: string }) => m.status === "skipped"));
      expect(skipped.reason).toMatch(/suppressed \(hard bounce/);
    } finally {
      h.clock.real();
    }
    expect(smtp.to("gone@example.test")).toHaveLength(0);
  });
});
