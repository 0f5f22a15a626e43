import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { createHarness, type Harness } from "@nurture/testkit";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deepNesting, hostileBatch, hostileMessage, hostileObject, hostileString, hostileValue, toHostileText } from "./testing/hostile-json";
import { listRoutes, type RouteEntry } from "./testing/route-inventory";

/** Routes anyone on the internet can reach: with the (public) write key, or with a signed email link. */
const PUBLIC = /^\/(v1\/(track|page|screen|identify|alias|group|batch|widget)(\/|$)|email\/)/;
const RUNS_PER_ROUTE = 150;

let h: Harness;
let routes: RouteEntry[];
const prototypeKeysBefore = Object.getOwnPropertyNames(Object.prototype).sort();

beforeAll(async () => {
  h = await createHarness();
  // Read from the app's route tree, so routes added later are fuzzed without editing this file.
  routes = listRoutes(h.app).filter((r) => PUBLIC.test(r.path));
});
afterAll(async () => h.close());

const auth = fc.oneof(
  { weight: 6, arbitrary: fc.constant("write") },
  fc.constantFrom("none", "secret", "garbage-basic", "garbage-bearer"),
);

function headersFor(mode: string, garbage: string, identity: string | null, contentType: string): Record<string, string> {
  const headers: Record<string, string> = { "content-type": contentType };
  if (identity !== null) headers["x-nurture-identity"] = identity;
  if (mode === "write") headers.authorization = `Basic ${Buffer.from(`${h.project.writeKey}:`).toString("base64")}`;
  if (mode === "secret") headers.authorization = `Bearer ${h.project.secretKey}`;
  if (mode === "garbage-basic") headers.authorization = `Basic ${Buffer.from(garbage).toString("base64")}`;
  if (mode === "garbage-bearer") headers.authorization = `Bearer ${garbage}`;
  return headers;
}

/** A single-message route takes its own type (or none); a batch takes them all. */
function bodyFor(path: string): fc.Arbitrary<string> {
  const routeType = /^\/v1\/(track|page|screen|identify|alias|group)$/.exec(path)?.[1];
  const single = hostileMessage.map((m) => (routeType && typeof m.type === "string" ? { ...m, type: routeType } : m));
  const message = path === "/v1/batch" ? hostileBatch.map(toHostileText) : single.map(toHostileText);
  return fc.oneof(
    { weight: 6, arbitrary: message },
    { weight: 2, arbitrary: hostileObject.map(toHostileText) },
    { weight: 1, arbitrary: hostileValue.map(toHostileText) },
    { weight: 1, arbitrary: deepNesting },
    { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 200 }) },
  );
}

const pathParam = fc.oneof(
  fc.constantFrom("1", "0", "-1", "anon-1", "shown", "clicked", "dismissed", "reply", "00000000-0000-0000-0000-000000000000", "..", "%2e%2e", "%00", "%ED%A0%80", "%ZZ", "9".repeat(30)),
  hostileString.map((s) => encodeURIComponent(s.toWellFormed())),
);
const queryKey = fc.oneof(fc.constantFrom("anonymousId", "userId", "writeKey", "__proto__", "constructor"), hostileString);
const queryString = fc
  .dictionary(queryKey.map((k) => k.toWellFormed()), hostileString.map((v) => v.toWellFormed()), { maxKeys: 4 })
  .map((q) => new URLSearchParams(q).toString());

/** A real collection, so heap measurements see only what survives it. */
function gc(): void {
  setFlagsFromString("--expose-gc");
  (runInNewContext("gc") as () => void)();
}

describe("fuzzing the public routes with hostile JSON", () => {
  it("knows which routes to fuzz", () => {
    expect(routes.map((r) => r.path)).toEqual(expect.arrayContaining(["/v1/track", "/v1/page", "/v1/screen", "/v1/identify", "/v1/alias", "/v1/group", "/v1/batch", "/v1/widget/messages"]));
  });

  it("never answers 5xx, never pollutes prototypes, and keeps memory bounded", { timeout: 120_000 }, async () => {
    const heapAfterWarmUp: number[] = [];
    for (const [round, route] of routes.entries()) {
      await fc.assert(
        fc.asyncProperty(
          bodyFor(route.path),
          auth,
          fc.string({ unit: "grapheme-ascii", maxLength: 40 }),
          fc.option(fc.string({ unit: "grapheme-ascii", maxLength: 300 }), { freq: 3 }),
          fc.constantFrom("application/json", "text/plain", "application/json; charset=utf-8"),
          pathParam,
          queryString,
          async (body, mode, garbage, identity, contentType, param, query) => {
            const path = route.path.replace(/:[A-Za-z0-9_]+/g, param);
            const res = await h.app.inject({
              method: route.method as "GET",
              url: query ? `${path}?${query}` : path,
              headers: headersFor(mode, garbage, identity, contentType),
              ...(route.method === "GET" || route.method === "HEAD" || route.method === "DELETE" ? {} : { payload: body }),
            });
            if (res.statusCode >= 500) throw new Error(`${route.method} ${path} → ${res.statusCode} ${res.body.slice(0, 300)}\nbody: ${body.slice(0, 500)}`);
            expect(({} as Record<string, unknown>).polluted).toBeUndefined();
          },
        ),
        { numRuns: RUNS_PER_ROUTE, endOnFailure: true },
      );
      if (round === 0) {
        gc();
        heapAfterWarmUp.push(process.memoryUsage().heapUsed);
      }
    }

    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeKeysBefore);
    expect(Object.getOwnPropertyNames(Array.prototype)).not.toContain("polluted");
    gc();
    const growthMb = (process.memoryUsage().heapUsed - heapAfterWarmUp[0]!) / 1024 / 1024;
    // Generous: hundreds of requests with bodies up to 500 KB went through; a leak per request would show as far more.
    expect(growthMb).toBeLessThan(64);

    // The server still does its job afterwards.
    const ok = await h.track("/v1/track", { anonymousId: "after-fuzz", event: "still_alive" });
    expect(ok.statusCode).toBe(200);
  });
});
