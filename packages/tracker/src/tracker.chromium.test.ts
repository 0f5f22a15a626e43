import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { launchChromium } from "./testing/chromium";
import { startRecordingApi, startSite, type BatchMessage, type RecordingApi, type TestSite } from "./testing/recording-api";
import { trackerSnippet } from "./tracker-snippet";

let browser: Browser;
let api: RecordingApi;
let site: TestSite;
let context: BrowserContext;
let page: Page;
let pageErrors: string[];

const WRITE_KEY = "wk_test";

function html(title: string, opts: { options?: Record<string, unknown>; head?: string; body?: string } = {}): string {
  const snippet = trackerSnippet({ writeKey: WRITE_KEY, host: api.url, options: { widget: false, ...opts.options } });
  return `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title>${opts.head ?? ""}${snippet}</head><body><h1>${title}</h1>${opts.body ?? ""}</body></html>`;
}

/** Polls until the API double holds messages matching `pick` (the browser sends asynchronously). */
async function waitForEvents(pick: (m: BatchMessage) => boolean, count = 1, timeoutMs = 15_000): Promise<BatchMessage[]> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const found = api.events().filter(pick);
    if (found.length >= count) return found;
    if (Date.now() > until) throw new Error(`expected ${count} matching events; API got ${JSON.stringify(api.events().map((m) => m.event ?? m.type))}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// page scripts are strings: the root tsconfig has no DOM types (node code must not use them)
const queued = (p: Page) => p.evaluate<number>(`JSON.parse(localStorage.getItem("nurture.queue") || "[]").length`);

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

describe("the tracker on a real page", () => {
  it("sends the first visit's source, a session start and the page view, with device details and no CORS preflight", async () => {
    site.pages.set("/landing", html("Spring sale"));
    await page.goto(`${site.url}/landing?utm_source=newsletter&utm_medium=email&utm_campaign=spring`, { referer: "https://mail.example/inbox" });
    const [pageView] = await waitForEvents((m) => m.type === "page");
    const [session] = await waitForEvents((m) => m.event === "$session_start");
    const [firstTouch] = await waitForEvents((m) => m.type === "identify");

    expect(pageView?.properties).toMatchObject({ path: "/landing", title: "Spring sale", referrer: "https://mail.example/inbox", search: "?utm_source=newsletter&utm_medium=email&utm_campaign=spring" });
    expect(pageView?.context).toMatchObject({ library: { name: "nurture.js" }, locale: expect.any(String), timezone: expect.any(String), screen: { width: expect.any(Number) } });
    expect(String(pageView?.context.userAgent)).toContain("Chrome");
    expect(session?.properties).toMatchObject({ channel: "email", utm_campaign: "spring", referrer_domain: "mail.example" });
    expect(firstTouch?.ops).toEqual(
      expect.arrayContaining([
        { op: "set_once", key: "first_utm_source", value: "newsletter" },
        { op: "set_once", key: "first_channel", value: "email" },
        { op: "set_once", key: "first_landing_page", value: `${site.url}/landing` },
      ]),
    );
    expect(new Set([pageView, session, firstTouch].map((m) => m?.anonymousId)).size).toBe(1);
    expect(pageView?.context.sessionId).toBe(session?.properties?.session_id);

    const batchRequests = api.requests.filter((r) => r.path === "/v1/batch");
    expect(batchRequests.every((r) => r.method === "POST" && String(r.headers["content-type"]).startsWith("text/plain"))).toBe(true);
    expect(api.batches()[0]?.writeKey).toBe(WRITE_KEY);
    expect(api.requests.filter((r) => r.method === "OPTIONS")).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  it("replays calls made before the script arrived, in order, and keeps the visitor and session across pages", async () => {
    site.pages.set(
      "/a",
      html("A", { body: `<a id="next" href="/b">next</a><script>nurture.track("early", {n: 1}); nurture.identify("user-7", {email: "u7@example.com"}, {token: "tok.en.jwt"}); nurture.track("after identify");</script>` }),
    );
    site.pages.set("/b", html("B"));
    await page.goto(`${site.url}/a`);
    const [early] = await waitForEvents((m) => m.event === "early");
    const [identify] = await waitForEvents((m) => m.type === "identify" && m.userId === "user-7");
    const [after] = await waitForEvents((m) => m.event === "after identify");
    expect(early?.userId).toBeUndefined();
    expect(identify?.context.identityToken).toBe("tok.en.jwt");
    expect(identify?.traits).toEqual({ email: "u7@example.com" });
    expect(after?.userId).toBe("user-7");
    expect(Date.parse(early!.timestamp)).toBeLessThanOrEqual(Date.parse(after!.timestamp));

    await page.click("#next");
    const [pageB] = await waitForEvents((m) => m.type === "page" && m.properties?.path === "/b");
    expect(pageB?.userId).toBe("user-7");
    expect(pageB?.anonymousId).toBe(early?.anonymousId);
    expect(pageB?.properties?.referrer).toBe(`${site.url}/a`);
    expect(pageB?.context.sessionId).toBe(early?.context.sessionId);
    expect(api.events().filter((m) => m.event === "$session_start")).toHaveLength(1);
  });

  it("counts single-page-app navigations as page views", async () => {
    site.pages.set("/app", html("App"));
    await page.goto(`${site.url}/app`);
    await page.evaluate(`history.pushState({}, "", "/app/settings?tab=billing")`);
    const [view] = await waitForEvents((m) => m.type === "page" && m.properties?.path === "/app/settings");
    expect(view?.properties).toMatchObject({ search: "?tab=billing", referrer: `${site.url}/app` });
    await page.evaluate(`history.replaceState({ scrolled: true }, "", "/app/settings?tab=billing")`);
    await page.evaluate(`history.back()`);
    await waitForEvents((m) => m.type === "page" && m.properties?.path === "/app", 2);
  });

  it("keeps events in localStorage while offline and delivers each exactly once when the network returns", async () => {
    site.pages.set("/shop", html("Shop"));
    await page.goto(`${site.url}/shop`);
    await waitForEvents((m) => m.type === "page");
    await context.setOffline(true);
    await page.evaluate(`
      nurture.track("viewed product", { sku: "A" });
      nurture.track("viewed product", { sku: "B" });
      nurture.track("added to cart", { sku: "B" });
    `);
    await page.waitForTimeout(1500); // a flush attempt fails meanwhile
    expect(await queued(page)).toBe(3);
    const before = api.requests.length;
    await context.setOffline(false);
    const sent = await waitForEvents((m) => m.event === "viewed product" || m.event === "added to cart", 3);
    expect(sent.map((m) => m.properties?.sku)).toEqual(["A", "B", "B"]);
    const sends = sent.map((m) => api.batches().filter((b) => b.batch.some((x) => x.messageId === m.messageId)).length);
    expect(sends).toEqual([1, 1, 1]);
    expect(api.requests.length).toBeGreaterThan(before);
    await expect.poll(() => queued(page)).toBe(0);
  });

  it("retries a failed batch with the same messageIds, so the API can deduplicate", async () => {
    api.answerBatch = (n) => (n === 1 ? { status: 503 } : n === 2 ? { status: 429, headers: { "Retry-After": "1" } } : { status: 200 });
    site.pages.set("/p", html("P"));
    await page.goto(`${site.url}/p`);
    await waitForEvents((m) => m.type === "page");
    const [first, second, third] = api.batches();
    const ids = (b: typeof first) => (b?.batch ?? []).map((m) => m.messageId).sort();
    expect(ids(first).length).toBeGreaterThan(0);
    expect(ids(second)).toEqual(ids(first));
    expect(ids(third)).toEqual(ids(first));
    expect(Date.parse(third!.sentAt)).toBeGreaterThan(Date.parse(first!.sentAt));
  });

  it("flushes with sendBeacon when the visitor leaves before the next batch is due", async () => {
    site.pages.set("/checkout", html("Checkout", { options: { flushDelayMs: 600_000 } }));
    site.pages.set("/elsewhere", "<!doctype html><title>no tracker</title>");
    await page.goto(`${site.url}/checkout`);
    await page.evaluate(`nurture.track("payment form viewed")`);
    expect(api.events()).toEqual([]);
    await page.goto(`${site.url}/elsewhere`);
    const [viewed] = await waitForEvents((m) => m.event === "payment form viewed");
    expect(viewed?.type).toBe("track");
    const beacon = api.requests.find((r) => r.path === "/v1/batch" && r.body.includes("payment form viewed"));
    // a beacon is a no-cors request; the tracker's own fetches are mode "cors"
    expect(beacon?.headers["sec-fetch-mode"]).toBe("no-cors");
    expect(beacon?.headers["content-type"]).toBe("text/plain;charset=UTF-8");
  });

  it("never throws into the host page, even with storage disabled and hostile arguments", async () => {
    await context.addInitScript(`
      Object.defineProperty(window, "localStorage", { get() { throw new DOMException("denied", "SecurityError"); } });
    `);
    site.pages.set(
      "/hostile",
      html("Hostile", {
        body: `<script>
          window.__results = [];
          const loop = {}; loop.self = loop;
          const calls = [
            () => nurture.track(), () => nurture.track(null, null), () => nurture.track("ok", loop),
            () => nurture.identify(Symbol("x")), () => nurture.identify({}, 5), () => nurture.props(null),
            () => nurture.props([{op: "increment", key: "n", value: "x"}]), () => nurture.page(12, "x"),
            () => nurture.track("big", {blob: "x".repeat(100000)}), () => nurture.reset(), () => nurture.flush(),
          ];
          window.addEventListener("load", () => {
            for (const call of calls) { try { call(); window.__results.push("ok"); } catch (e) { window.__results.push("threw " + e); } }
          });
        </script>`,
      }),
    );
    await page.goto(`${site.url}/hostile`);
    await page.waitForFunction(`window.__results.length === 11`);
    expect(await page.evaluate(`window.__results`)).toEqual(Array(11).fill("ok"));
    const [ok] = await waitForEvents((m) => m.event === "ok");
    expect(ok?.properties).toEqual({});
    expect(api.events().some((m) => m.event === "big")).toBe(false);
    expect(pageErrors).toEqual([]);
  });
});
