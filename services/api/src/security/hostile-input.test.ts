import { createHarness, type Harness } from "@nurture/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => h.close());

const card = async (id: string) => (await h.admin({ method: "GET", url: `/v1/users/${encodeURIComponent(id)}` })).json();
const rawTrack = (path: string, json: string) =>
  h.app.inject({ method: "POST", url: path, payload: json, headers: { "content-type": "application/json", authorization: `Basic ${Buffer.from(`${h.project.writeKey}:`).toString("base64")}` } });

describe("text PostgreSQL cannot store", () => {
  it("is repaired, not refused, on the tracking routes (NUL and unpaired surrogates become U+FFFD)", async () => {
    const res = await h.track("/v1/identify", {
      userId: "nul-user",
      traits: { title: "a\u0000b", broken: "x\ud800y", ["key\u0000"]: 1, nested: { deep: ["\udfff"] } },
    });
    expect(res.statusCode).toBe(200);
    expect((await card("nul-user")).properties).toEqual({ title: "a\uFFFDb", broken: "x\uFFFDy", "key\uFFFD": 1, nested: { deep: ["\uFFFD"] } });

    const track = await h.track("/v1/track", { anonymousId: "nul\u0000visitor", event: "clicked\u0000", properties: { p: "\ud83d" } });
    expect(track.statusCode).toBe(200);
    expect((await card("nul\uFFFDvisitor")).eventStats["clicked\uFFFD"].count).toBe(1);
  });

  it("is refused with its path on the admin API", async () => {
    const res = await h.admin({ method: "POST", url: "/v1/users/ann/props", payload: { ops: [{ op: "set", key: "title", value: "a\u0000b" }] } });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details[0]).toEqual({ path: "body.ops.0.value", message: expect.stringMatching(/NUL/) });
  });

  it("in the query string or path of any admin route never causes a 5xx", async () => {
    const doc = (await h.app.inject({ method: "GET", url: "/docs/json" })).json() as { paths: Record<string, Record<string, unknown>> };
    const gets = Object.entries(doc.paths).filter(([path, methods]) => "get" in methods && !path.startsWith("/docs"));
    expect(gets.length).toBeGreaterThan(5);
    for (const [path] of gets) {
      for (const bad of ["%00", "a%00b", "%ED%A0%80", "%F0%9F", "%ZZ"]) {
        const url = `${path.replace(/\{[^}]+\}/g, bad)}?q=${bad}&limit=${bad}&cursor=${bad}&name=${bad}&by=${bad}`;
        const res = await h.admin({ method: "GET", url });
        expect(res.statusCode, `${url} → ${res.body.slice(0, 200)}`).toBeLessThan(500);
      }
    }
  });
});

describe("malformed structure", () => {
  it("refuses JSON nested deeper than 64 levels with 400, on every route", async () => {
    const deep = `{"anonymousId":"deep","event":"e","properties":${'{"a":'.repeat(100)}1${"}".repeat(100)}}`;
    const res = await rawTrack("/v1/track", deep);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details[0].message).toMatch(/nested more than 64 levels/);
    // A batch at the size limit made of nothing but brackets.
    const brackets = `{"batch":${"[".repeat(200_000)}${"]".repeat(200_000)}}`;
    expect((await rawTrack("/v1/batch", brackets)).statusCode).toBe(400);
  });

  it("answers 400 to values that make the validator itself throw", async () => {
    for (const json of ['{"anonymousId":"v","event":{"length":{"valueOf":1,"toString":1}}}', '{"anonymousId":{"length":{"toString":{}}},"event":"e"}']) {
      const res = await rawTrack("/v1/track", json);
      expect(res.statusCode).toBe(400);
      expect(res.json().error.code).toBe("validation_failed");
    }
  });

  it("keeps huge and odd numbers as data (Infinity becomes null)", async () => {
    const res = await rawTrack("/v1/identify", '{"userId":"numbers","traits":{"big":1e400,"small":-1e400,"long":123456789012345678901234567890,"tiny":1e-400,"max":1.7976931348623157e308}}');
    expect(res.statusCode).toBe(200);
    expect((await card("numbers")).properties).toEqual({ big: null, small: null, long: 1.2345678901234568e29, tiny: 0, max: 1.7976931348623157e308 });
  });
});

describe("timestamps PostgreSQL cannot store", () => {
  it.each([
    ["year 0", { timestamp: "0000-01-01T00:00:00Z" }],
    ["year 9999 sent by a clock in 1970", { timestamp: "9999-12-31T23:59:59Z", sentAt: "1970-01-01T00:00:00Z" }],
    ["year 1 sent by a clock in 9999", { timestamp: "0001-01-01T00:00:00Z", sentAt: "9999-12-31T00:00:00Z" }],
  ])("are answered with a 4xx or stored, never a 5xx (%s)", async (_, dates) => {
    const res = await h.track("/v1/track", { anonymousId: "time-traveller", event: "e", ...dates });
    expect(res.statusCode, res.body).toBeLessThan(500);
  });
});
