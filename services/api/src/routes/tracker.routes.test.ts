import { gzipSync } from "node:zlib";
import { createHarness, type Harness } from "@nurture/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let h: Harness;
beforeAll(async () => {
  h = await createHarness({ config: { PUBLIC_URL: "https://nurture.shop.example" } });
});
afterAll(async () => h.close());

describe("GET /tracker.js", () => {
  it("serves the tracker script, cacheable and embeddable by any site", async () => {
    const res = await h.app.inject({ method: "GET", url: "/tracker.js", headers: { origin: "https://shop.example" } });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("application/javascript; charset=utf-8");
    expect(res.headers["cache-control"]).toMatch(/public, max-age=\d+/);
    expect(res.headers["cross-origin-resource-policy"]).toBe("cross-origin");
    expect(res.body).toMatch(/^\/\*! nurture\.js /);
    expect(gzipSync(res.body).length).toBeLessThanOrEqual(12 * 1024);
  });

  it("answers 304 to a browser that already has this version", async () => {
    const first = await h.app.inject({ method: "GET", url: "/tracker.js" });
    const etag = first.headers.etag as string;
    const again = await h.app.inject({ method: "GET", url: "/tracker.js", headers: { "if-none-match": etag } });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe("");
  });
});

describe("GET /v1/project/tracker-snippet", () => {
  it("gives the marketer the snippet with the project's write key and the public URL", async () => {
    const res = await h.admin({ method: "GET", url: "/v1/project/tracker-snippet" });
    expect(res.statusCode).toBe(200);
    const { snippet, host, writeKey } = res.json();
    expect(writeKey).toBe(h.project.writeKey);
    expect(host).toBe("https://nurture.shop.example");
    expect(snippet).toContain(`"${h.project.writeKey}","https://nurture.shop.example"`);
  });

  it("needs the secret key", async () => {
    const res = await h.app.inject({ method: "GET", url: "/v1/project/tracker-snippet" });
    expect(res.statusCode).toBe(401);
  });
});

describe("what the tracker sends is accepted", () => {
  it("takes a text/plain batch with the write key in the body (no preflight) and a beacon's charset", async () => {
    const body = {
      writeKey: h.project.writeKey,
      sentAt: new Date().toISOString(),
      batch: [
        { type: "identify", messageId: "t-1", anonymousId: "anon-tp", ops: [{ op: "set_once", key: "first_channel", value: "email" }], context: { library: { name: "nurture.js" } }, timestamp: new Date().toISOString() },
        { type: "page", messageId: "t-2", anonymousId: "anon-tp", properties: { path: "/" }, context: {}, timestamp: new Date().toISOString() },
      ],
    };
    for (const type of ["text/plain", "text/plain;charset=UTF-8"]) {
      const res = await h.app.inject({ method: "POST", url: "/v1/batch", payload: JSON.stringify(body), headers: { "content-type": type, origin: "https://shop.example" } });
      expect(res.statusCode).toBe(200);
      expect(res.headers["access-control-allow-origin"]).toBe("https://shop.example");
    }
    const card = (await h.admin({ method: "GET", url: "/v1/users/anon-tp" })).json();
    expect(card.properties).toMatchObject({ first_channel: "email" });
  });
});
