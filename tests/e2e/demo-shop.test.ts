import type { AddressInfo } from "node:net";
import { createHarness, type Harness } from "@nurture/testkit";
import { simpleParser, type ParsedMail } from "mailparser";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_LIFECYCLE, DEMO_SCORING_RULES, demoCampaigns } from "../../examples/demo-shop/campaigns";
import { startDemoShop, type DemoShop } from "../../examples/demo-shop/demo-shop-server";
import { seedDemoCampaigns, seedDemoLifecycle, seedDemoScoring, type SeedResult } from "../../examples/demo-shop/seed";
import { launchChromium } from "../../packages/tracker/src/testing/chromium";

/**
 * The product's story, end to end, in real Chromium: the demo shop with the snippet, the real API
 * and worker on a real database and Redis, and a real SMTP server.
 */
let h: Harness;
let apiUrl: string;
let shop: DemoShop;
let smtp: SMTPServer;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let seeded: SeedResult = { available: false, campaigns: [] };
let scoringSeeded = false;
let lifecycleSeeded = false;
let anonymousId: string;
const mails: ParsedMail[] = [];
const EMAIL = "ann.walker@example.com";

const campaignId = (name: string) => seeded.campaigns.find((c) => c.name === name)?.id;

async function card(id: string, by: "userId" | "anonymousId" = "userId") {
  const res = await h.admin({ method: "GET", url: `/v1/users/${encodeURIComponent(id)}?by=${by}` });
  return res.statusCode === 200 ? (res.json() as Record<string, unknown> & { eventStats: Record<string, { count: number }>; properties: Record<string, unknown> }) : null;
}

beforeAll(async () => {
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    onData(stream, _session, callback) {
      simpleParser(stream).then(
        (mail) => {
          mails.push(mail);
          callback();
        },
        (error: Error) => callback(error),
      );
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, "127.0.0.1", () => resolve()));
  const smtpPort = (smtp.server.address() as AddressInfo).port;

  h = await createHarness({ worker: true, sweepIntervalMs: 500, config: { SMTP_URL: `smtp://127.0.0.1:${smtpPort}` } });
  await h.app.listen({ host: "127.0.0.1", port: 0 });
  apiUrl = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
  // as `npm run demo` does: the project requires verified identities, the shop's server signs them
  const identity = (await h.admin({ method: "POST", url: "/v1/project/identity-verification/secret" })).json() as { secret: string };
  shop = await startDemoShop({ apiUrl, writeKey: h.project.writeKey, identitySecret: identity.secret });
  lifecycleSeeded = await seedDemoLifecycle({ apiUrl, secretKey: h.project.secretKey, settings: DEMO_LIFECYCLE });
  scoringSeeded = await seedDemoScoring({ apiUrl, secretKey: h.project.secretKey, rules: DEMO_SCORING_RULES });
  seeded = await seedDemoCampaigns({
    apiUrl,
    secretKey: h.project.secretKey,
    campaigns: demoCampaigns({ shopUrl: shop.url, chatDelay: { amount: 1, unit: "seconds" }, emailDelay: { amount: 2, unit: "seconds" } }),
  });
  browser = await launchChromium();
  context = await browser.newContext();
  page = await context.newPage();
});

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await shop?.close();
  await h?.close();
  await new Promise<void>((resolve) => (smtp ? smtp.close(() => resolve()) : resolve()));
});

describe("the demo shop, end to end in Chromium", () => {
  it("seeds the demo project: scoring, lifecycle and campaigns", () => {
    expect(scoringSeeded).toBe(true);
    expect(lifecycleSeeded).toBe(true);
    expect(seeded.campaigns.map((c) => c.outcome)).toEqual(["created", "created", "created"]);
  });

  it("tracks a new visitor from a newsletter link through the catalogue and a product", async () => {
    await page.goto(`${shop.url}/?utm_source=newsletter&utm_medium=email&utm_campaign=spring`);
    anonymousId = await page.evaluate<string>(`new Promise((resolve) => { const t = setInterval(() => { if (nurture.initialized) { clearInterval(t); resolve(nurture.anonymousId()); } }, 20); })`);
    await page.locator("[data-nurture-widget] .popup").waitFor({ state: "visible", timeout: 15_000 });
    await expect.poll(async () => (await card(anonymousId, "anonymousId"))?.eventStats.$page?.count ?? 0, { timeout: 15_000 }).toBeGreaterThanOrEqual(1);
    const visitor = await card(anonymousId, "anonymousId");
    expect(visitor?.properties).toMatchObject({ first_utm_source: "newsletter", first_utm_campaign: "spring", first_channel: "email" });
    expect(visitor?.eventStats.$session_start?.count).toBe(1);
  });

  it("shows the welcome popup and counts the click", async () => {
    const popup = page.locator("[data-nurture-widget] .popup");
    expect(await popup.locator(".title").textContent()).toBe("Welcome to Nurture Outfitters!");
    await popup.locator(".cta").click();
    await page.waitForURL(`${shop.url}/`);
    const id = campaignId("Welcome popup for new visitors");
    await expect
      .poll(async () => ((await h.admin({ method: "GET", url: `/v1/campaigns/${id}/stats` })).json() as { total: { clicked: number } }).total.clicked, { timeout: 15_000 })
      .toBe(1);
  });

  it("follows the visitor to checkout, identifies them, and the card shows the whole journey", async () => {
    await page.goto(`${shop.url}/product.html?sku=ultralight-tent`);
    await page.click("#add-to-cart");
    await page.click("#go-to-checkout");
    await page.fill("#email", EMAIL);
    await page.fill("#name", "Ann");
    await Promise.all([page.waitForEvent("load"), page.click("#sign-in button[type=submit]")]);
    await page.click("#start-checkout");
    await page.locator("#payment").waitFor({ state: "visible" });
    await page.goto(`${shop.url}/pricing.html`); // and leaves without paying

    await expect.poll(async () => (await card(EMAIL))?.eventStats.payment_form_viewed?.count ?? 0, { timeout: 15_000 }).toBe(1);
    await h.drain();
    const ann = await card(EMAIL);
    expect(ann?.anonymousIds).toContain(anonymousId);
    expect(ann?.properties).toMatchObject({ email: EMAIL, name: "Ann", first_utm_source: "newsletter", first_channel: "email" });
    const stats = ann?.eventStats ?? {};
    expect(stats.$page?.count).toBeGreaterThanOrEqual(4);
    for (const event of ["$session_start", "product_viewed", "added_to_cart", "checkout_started", "payment_form_viewed"]) expect(stats[event]?.count, event).toBeGreaterThanOrEqual(1);

    const timeline = (await h.admin({ method: "GET", url: `/v1/users/${encodeURIComponent(EMAIL)}/events?by=userId&limit=100` })).json() as { items: Array<{ name: string }> };
    const names = timeline.items.map((e) => e.name).reverse();
    const order = ["$session_start", "product_viewed", "added_to_cart", "checkout_started", "payment_form_viewed"].map((n) => names.indexOf(n));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect(order).toEqual([...order].sort((a, b) => a - b));
  });

  it("puts the visitor in a lifecycle stage", async () => {
    // identified, has not bought yet (the core action): a new customer
    expect((await card(EMAIL))?.lifecycleStage).toBe("new");
  });

  it("scores the visitor", async () => {
    // default rules: a visit +1 (once a day), the payment form +40; the shop's: cart +15, checkout +25
    // (82 if the visit crossed midnight UTC: "once a day" then counts twice)
    expect((await card(EMAIL))?.score).toBeGreaterThanOrEqual(81);
    expect((await card(EMAIL))?.score).toBeLessThanOrEqual(82);
  });

  it("sends the chat message to the visitor who left the payment form, and takes the reply", async () => {
    const chat = page.locator("[data-nurture-widget] .chat");
    await chat.waitFor({ state: "visible", timeout: 20_000 });
    expect(await chat.locator(".msg-in .msg-text").textContent()).toContain("Hi Ann!");
    await chat.locator("textarea").fill("Is shipping to Norway free too?");
    await chat.locator("textarea").press("Enter");
    await expect.poll(async () => (await card(EMAIL))?.eventStats.$message_replied?.count ?? 0, { timeout: 15_000 }).toBe(1);
  });

  it("emails the identified customer who started checkout and did not buy", async () => {
    await expect.poll(() => mails.filter((m) => m.to && JSON.stringify(m.to).includes(EMAIL)).length, { timeout: 30_000 }).toBe(1);
    const mail = mails.find((m) => JSON.stringify(m.to).includes(EMAIL))!;
    expect(mail.subject).toBe("Ann, your cart is waiting");
    expect(mail.text).toContain("$340");
    const header = (name: string) => mail.headerLines.find((l) => l.key === name)?.line ?? "";
    expect(header("list-unsubscribe")).toMatch(/^List-Unsubscribe:\s+<http/i);
    expect(header("list-unsubscribe-post")).toMatch(/List-Unsubscribe=One-Click/);
  });
});
