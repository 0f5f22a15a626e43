import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { launchChromium } from "./testing/chromium";
import { startRecordingApi, startSite, type InboxMessage, type RecordingApi, type TestSite } from "./testing/recording-api";
import { trackerSnippet } from "./tracker-snippet";

let browser: Browser;
let api: RecordingApi;
let site: TestSite;
let context: BrowserContext;
let page: Page;
let pageErrors: string[];

const HOSTILE_CSS = `<style>
  button, .cta, .close { display: none !important; }
  h2, p, div { color: rgb(255, 0, 0) !important; font-size: 2px !important; visibility: hidden !important; }
  [data-nurture-widget] { opacity: 0.01; }
</style>`;

function html(title: string, body = ""): string {
  const snippet = trackerSnippet({ writeKey: "wk_widget", host: api.url });
  return `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title>${HOSTILE_CSS}${snippet}</head><body><h2>${title}</h2>${body}</body></html>`;
}

const popup = (id: string, content: Record<string, string>): InboxMessage => ({ id, channel: "popup", content, createdAt: new Date().toISOString() });
const chat = (id: string, content: Record<string, string>): InboxMessage => ({ id, channel: "chat", content, createdAt: new Date().toISOString() });

async function reportsFor(id: string, action: string, count = 1) {
  await expect.poll(() => api.reports().filter((r) => r.id === id && r.action === action).length, { timeout: 10_000 }).toBeGreaterThanOrEqual(count);
  return api.reports().filter((r) => r.id === id && r.action === action);
}

beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});
beforeEach(async () => {
  api = await startRecordingApi();
  site = await startSite();
  context = await browser.newContext();
  page = await context.newPage();
  pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(e.message));
});
afterEach(async () => {
  await context.close();
  await api.close();
  await site.close();
});

describe("popups", () => {
  it("render in a shadow root the page's CSS cannot reach, with campaign markup shown as text", async () => {
    const title = `<script>window.__pwned = 1</script>Welcome!`;
    const body = `<img src=x onerror="window.__pwned = 2">10% off your first order`;
    api.inbox = [popup("p1", { title, body, buttonLabel: "See plans", buttonUrl: "/pricing" })];
    site.pages.set("/", html("Home"));
    site.pages.set("/pricing", html("Pricing"));
    await page.goto(`${site.url}/`);

    const dialog = page.locator("[data-nurture-widget] .popup");
    await dialog.waitFor({ state: "visible" });
    expect(await dialog.locator(".title").textContent()).toBe(title);
    expect(await dialog.locator(".body").textContent()).toBe(body);
    await expect.poll(() => dialog.locator(".cta").isVisible()).toBe(true);
    // page scripts are strings: the root tsconfig has no DOM types (node code must not use them)
    const titleStyle = await page.evaluate(`(() => {
      const s = getComputedStyle(document.querySelector("[data-nurture-widget]").shadowRoot.querySelector(".title"));
      return { color: s.color, size: s.fontSize, visibility: s.visibility };
    })()`);
    expect(titleStyle).toEqual({ color: "rgb(29, 34, 48)", size: "20px", visibility: "visible" });
    expect(await page.evaluate(`getComputedStyle(document.querySelector("[data-nurture-widget]")).opacity`)).toBe("1");
    expect(await page.evaluate(`window.__pwned`)).toBeUndefined();
    expect(await page.evaluate(`document.querySelector("[data-nurture-widget]").shadowRoot.querySelectorAll("img, script").length`)).toBe(0);

    const shown = await reportsFor("p1", "shown");
    expect(shown[0]?.body).toMatchObject({ writeKey: "wk_widget", anonymousId: expect.any(String) });

    await dialog.locator(".cta").click();
    await page.waitForURL(`${site.url}/pricing`);
    await reportsFor("p1", "clicked");
    expect(api.reports().filter((r) => r.id === "p1" && r.action === "shown")).toHaveLength(1);
    expect(pageErrors).toEqual([]);
  });

  it("never follow a javascript: link, but still count the click", async () => {
    api.inbox = [popup("p2", { title: "Hi", buttonLabel: "Click", buttonUrl: "javascript:window.__pwned=3" })];
    site.pages.set("/", html("Home"));
    await page.goto(`${site.url}/`);
    await page.locator("[data-nurture-widget] .cta").click();
    await reportsFor("p2", "clicked");
    expect(page.url()).toBe(`${site.url}/`);
    expect(await page.evaluate(`window.__pwned`)).toBeUndefined();
    expect(await page.locator("[data-nurture-widget] .popup").count()).toBe(0);
  });

  it("close with the × button or Escape, count as dismissed and do not come back on the next page", async () => {
    // this inbox keeps offering both: only the tracker's own memory keeps them away
    const keep = [popup("p3", { title: "First", body: "one" }), popup("p4", { title: "Second", body: "two" })];
    api.inbox = keep;
    site.pages.set("/", html("Home"));
    await page.goto(`${site.url}/`);
    const dialog = page.locator("[data-nurture-widget] .popup");
    await expect.poll(() => dialog.locator(".title").textContent()).toBe("First");
    await dialog.locator(".close").click();
    await reportsFor("p3", "dismissed");
    await expect.poll(() => dialog.locator(".title").textContent(), { timeout: 10_000 }).toBe("Second");
    await page.keyboard.press("Escape");
    await reportsFor("p4", "dismissed");
    api.inbox = keep;
    const polls = () => api.requests.filter((r) => r.path === "/v1/widget/messages").length;
    const before = polls();
    await page.reload();
    await expect.poll(polls).toBeGreaterThan(before);
    await page.evaluate(`new Promise((r) => setTimeout(r, 100))`); // let the answer render, if it would
    expect(await dialog.count()).toBe(0);
  });

  it("arriving later, after the visitor's own events, appear without a reload", async () => {
    site.pages.set("/", html("Home"));
    await page.goto(`${site.url}/`);
    await expect.poll(() => api.requests.some((r) => r.path === "/v1/widget/messages")).toBe(true);
    api.inbox = [popup("late", { title: "Still there?", body: "Need a hand?" })];
    await page.evaluate(`nurture.track("viewed payment form")`);
    await page.locator("[data-nurture-widget] .popup").waitFor({ state: "visible", timeout: 15_000 });
    // An idle look answers at once; the look after the visitor's own events waits on the API.
    const polls = api.requests.filter((r) => r.path === "/v1/widget/messages");
    expect(polls[0]?.query.wait).toBeUndefined();
    expect(polls.some((r) => r.query.wait === "5")).toBe(true);
  });
});

describe("chat messages", () => {
  it("show the sender and text in a bubble, take a reply, and send the visitor's identity token", async () => {
    api.inbox = [chat("c1", { text: "Hi Ann! <b>Questions</b> about the checkout?", senderName: "Maria from Shop" })];
    site.pages.set("/", html("Home", `<script>nurture.identify("ann", {}, {token: "signed.jwt.token"});</script>`));
    await page.goto(`${site.url}/`);

    const bubble = page.locator("[data-nurture-widget] .chat");
    await bubble.waitFor({ state: "visible" });
    expect(await bubble.locator(".chat-header .sender").textContent()).toBe("Maria from Shop");
    expect(await bubble.locator(".msg-in .msg-text").textContent()).toBe("Hi Ann! <b>Questions</b> about the checkout?");
    await reportsFor("c1", "shown");

    const polls = api.requests.filter((r) => r.path === "/v1/widget/messages");
    expect(polls.at(-1)?.headers["x-nurture-identity"]).toBe("signed.jwt.token");

    await bubble.locator("textarea").fill("Yes: does <script> work for delivery?");
    await bubble.locator("textarea").press("Enter");
    const [reply] = await reportsFor("c1", "reply");
    expect(reply?.body).toMatchObject({ writeKey: "wk_widget", userId: "ann", text: "Yes: does <script> work for delivery?" });
    expect(reply?.identity).toBe("signed.jwt.token");
    await expect.poll(() => bubble.locator(".msg-out .msg-text").textContent()).toBe("Yes: does <script> work for delivery?");
    expect(await bubble.locator("textarea").inputValue()).toBe("");
    expect(pageErrors).toEqual([]);
  });

  it("disappear when the visitor logs out, so the next person on this browser cannot read them", async () => {
    api.inbox = [chat("c2", { text: "Your order #991 is delayed", senderName: "Support" })];
    site.pages.set("/", html("Home", `<script>nurture.identify("bob", {}, {token: "bob.jwt"});</script>`));
    await page.goto(`${site.url}/`);
    const bubble = page.locator("[data-nurture-widget] .chat");
    await bubble.waitFor({ state: "visible" });
    api.inbox = [];
    await page.evaluate(`nurture.reset()`);
    await expect.poll(() => bubble.count()).toBe(0);
    await expect
      .poll(() => api.requests.filter((r) => r.path === "/v1/widget/messages").at(-1)?.headers["x-nurture-identity"] ?? "none")
      .toBe("none");
  });

  it("closing the bubble dismisses it", async () => {
    api.inbox = [chat("c3", { text: "Hello", senderName: "Support" })];
    site.pages.set("/", html("Home"));
    await page.goto(`${site.url}/`);
    await page.locator("[data-nurture-widget] .chat .close").click();
    await reportsFor("c3", "dismissed");
    expect(await page.locator("[data-nurture-widget] .chat").count()).toBe(0);
  });
});
