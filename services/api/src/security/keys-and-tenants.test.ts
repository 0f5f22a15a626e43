import type { CreatedProject } from "@nurture/backend";
import { createHarness, type Harness } from "@nurture/testkit";
import type { InjectOptions } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fillParams, listRoutes, paramNames, type RouteEntry } from "./testing/route-inventory";

/**
 * Routes meant for the open internet: tracking and widget (write key), the tracker script, email
 * links (signed tokens), health and docs. Everything else must demand the secret key — a route
 * added later is held to that unless it is consciously listed here.
 */
const PUBLIC_ROUTE = /^\/(v1\/(track|page|screen|identify|alias|group|batch|widget)(\/|$)|tracker\.js$|email\/|health(\/|$)|docs(\/|$)|\*$)/;
/** The operator API (NURTURE_ADMIN_TOKEN), not the project's keys. */
const OPERATOR_ROUTE = /^\/v1\/projects(\/|$)/;
const ADMIN_ORIGIN = "https://admin.nurture.example";

let h: Harness;
let adminRoutes: RouteEntry[];
beforeAll(async () => {
  h = await createHarness({ config: { ADMIN_CORS_ORIGINS: ADMIN_ORIGIN } });
  adminRoutes = listRoutes(h.app).filter((r) => !PUBLIC_ROUTE.test(r.path));
});
afterAll(async () => h.close());

const withBody = (method: string) => (method === "GET" || method === "DELETE" ? {} : { payload: {} });
const placeholder = (path: string) => fillParams(path, Object.fromEntries(paramNames(path).map((n) => [n, "00000000-0000-4000-8000-000000000001"])));

describe("a write key on an admin route", () => {
  it("covers a meaningful set of routes", () => {
    expect(adminRoutes.length).toBeGreaterThan(20);
    expect(adminRoutes).toContainEqual({ method: "GET", path: "/v1/users/:id" });
  });

  it("is refused with 401 or 403 on every admin and operator route, however it is sent", async () => {
    const { writeKey } = h.project;
    const attempts: [string, (url: string) => InjectOptions][] = [
      ["Bearer", (url) => ({ url, headers: { authorization: `Bearer ${writeKey}` } })],
      ["Basic", (url) => ({ url, headers: { authorization: `Basic ${Buffer.from(`${writeKey}:`).toString("base64")}` } })],
      ["query", (url) => ({ url: `${url}?writeKey=${writeKey}` })],
      ["none", (url) => ({ url })],
    ];
    const leaks: string[] = [];
    for (const route of adminRoutes) {
      for (const [how, options] of attempts) {
        const res = await h.app.inject({ method: route.method as "GET", ...options(placeholder(route.path)), ...withBody(route.method) });
        if (res.statusCode !== 401 && res.statusCode !== 403) leaks.push(`${route.method} ${route.path} (${how}) → ${res.statusCode}`);
      }
      // The write key in the body, as trackers may send it.
      if (route.method !== "GET" && route.method !== "DELETE") {
        const res = await h.app.inject({ method: route.method as "POST", url: placeholder(route.path), payload: { writeKey } });
        if (res.statusCode !== 401 && res.statusCode !== 403) leaks.push(`${route.method} ${route.path} (body) → ${res.statusCode}`);
      }
    }
    expect(leaks).toEqual([]);
  });

  it("does not open the operator API, nor does a project's secret key", async () => {
    for (const route of adminRoutes.filter((r) => OPERATOR_ROUTE.test(r.path))) {
      for (const key of [h.project.writeKey, h.project.secretKey]) {
        const res = await h.app.inject({ method: route.method as "POST", url: placeholder(route.path), headers: { authorization: `Bearer ${key}` }, payload: { name: "x" } });
        expect(res.statusCode, `${route.method} ${route.path}`).toBe(401);
      }
    }
  });
});

describe("another project's ids", () => {
  let other: CreatedProject;
  const asOther = (options: InjectOptions) => h.app.inject({ ...options, headers: { authorization: `Bearer ${other.secretKey}`, ...options.headers } });
  const ids = new Set<string>();
  const userIds = new Set<string>();

  /** Every string or number under a key named `id` or `…Id` in a response. */
  function harvest(value: unknown, into = ids): void {
    if (Array.isArray(value)) return value.forEach((v) => harvest(v, into));
    if (value === null || typeof value !== "object") return;
    for (const [key, v] of Object.entries(value)) {
      if ((key === "id" || /Id$/.test(key)) && (typeof v === "string" || typeof v === "number")) into.add(String(v));
      else harvest(v, into);
    }
  }

  const otherGets = () => adminRoutes.filter((r) => r.method === "GET" && !OPERATOR_ROUTE.test(r.path));
  /** What the other project sees through every GET route, filled with its own ids. */
  async function snapshot(): Promise<Record<string, string>> {
    const seen: Record<string, string> = {};
    for (const route of otherGets()) {
      const names = paramNames(route.path);
      const fills = names.length === 0 ? [{}] : [...ids].map((id) => Object.fromEntries(names.map((n) => [n, id])));
      for (const values of fills) {
        const url = fillParams(route.path, values);
        const res = await asOther({ method: "GET", url });
        if (res.statusCode === 200) seen[url] = res.body;
      }
    }
    return seen;
  }

  const campaign = {
    name: "Other shop welcome",
    trigger: { type: "event", event: "signed_up" },
    steps: [{ channel: "email", content: { subject: "Welcome", html: "<p>Hi</p>" } }],
  };

  beforeAll(async () => {
    other = await h.newProject("Other shop");
    const track = (path: string, body: object) =>
      h.app.inject({ method: "POST", url: path, payload: body, headers: { authorization: `Basic ${Buffer.from(`${other.writeKey}:`).toString("base64")}` } });
    await track("/v1/identify", { userId: "other-user", anonymousId: "other-anon", traits: { email: "other@shop.test", plan: "pro" } });
    await track("/v1/track", { userId: "other-user", event: "signed_up" });
    for (const [method, url, payload] of [
      ["POST", "/v1/scoring-rules/defaults", undefined],
      ["POST", "/v1/scoring/recompute", undefined],
      ["POST", "/v1/segments", { name: "Pro", condition: { property: "plan", op: "eq", value: "pro" } }],
      ["POST", "/v1/campaigns", campaign],
    ] as const) {
      const res = await asOther({ method, url, ...(payload ? { payload } : {}) });
      expect(res.statusCode, `${url}: ${res.body}`).toBeLessThan(300);
      harvest(res.json());
    }
    for (const route of otherGets().filter((r) => paramNames(r.path).length === 0)) harvest((await asOther({ method: "GET", url: route.path })).json());
    const user = (await asOther({ method: "GET", url: "/v1/users/other-user" })).json();
    for (const id of [user.id, "other-user", "other-anon"]) {
      ids.add(String(id));
      userIds.add(String(id));
    }
    ids.delete(other.id);
  });

  it("answer 404 (not 403) so their existence is not confirmed", async () => {
    const otherUser = (await asOther({ method: "GET", url: "/v1/users/other-user" })).json();
    const segment = (await asOther({ method: "GET", url: "/v1/segments" })).json().items[0];
    const campaignId = (await asOther({ method: "GET", url: "/v1/campaigns" })).json().items[0].id;
    const rule = (await asOther({ method: "GET", url: "/v1/scoring-rules" })).json().items[0];
    for (const url of [`/v1/users/${otherUser.id}?by=id`, "/v1/users/other-user", "/v1/users/other-anon?by=anonymousId", `/v1/segments/${segment.id}`, `/v1/campaigns/${campaignId}`, `/v1/scoring-rules/${rule.id}`]) {
      expect((await h.admin({ method: "GET", url })).statusCode, url).toBe(404);
    }
  });

  it("are not found through any admin route, and nothing of the other project changes", async () => {
    expect(ids.size).toBeGreaterThan(5);
    // Reports computed "as of now" must not differ between the two snapshots.
    h.clock.set("2026-06-01T00:00:00Z");
    const before = await snapshot();
    expect(Object.keys(before).length).toBeGreaterThan(10);

    // Bodies a mutating route accepts, so the call gets past validation to the lookup.
    const bodies: Record<string, unknown> = {
      "PATCH /v1/scoring-rules/:id": { points: 99 },
      "PATCH /v1/segments/:id": { name: "Hijacked" },
      "PUT /v1/campaigns/:id": { ...campaign, name: "Hijacked" },
      "POST /v1/campaigns/:id/status": { status: "active" },
      "POST /v1/users/:id/props": { ops: [{ op: "set", key: "plan", value: "hijacked" }] },
    };
    // Writing a user id into one's own project is allowed: user ids are the site's own names, per project.
    const createsInOwnProject = new Set(["POST /v1/users/:id/props"]);
    const found: string[] = [];
    // Routes that create in the caller's own project go last, so they cannot make later lookups find the caller's own new rows.
    const swept = adminRoutes.filter((r) => paramNames(r.path).length > 0 && !OPERATOR_ROUTE.test(r.path));
    swept.sort((a, b) => Number(createsInOwnProject.has(`${a.method} ${a.path}`)) - Number(createsInOwnProject.has(`${b.method} ${b.path}`)));
    for (const route of swept) {
      const key = `${route.method} ${route.path}`;
      const names = paramNames(route.path);
      const candidates = (name: string) => [...(/user/i.test(name) && names.length > 1 ? userIds : ids)];
      let fills: Record<string, string>[] = [{}];
      for (const name of names) fills = fills.flatMap((f) => candidates(name).map((id) => ({ ...f, [name]: id })));
      for (const values of fills) {
        const url = fillParams(route.path, values);
        const body = bodies[key];
        const res = await h.admin({ method: route.method as "GET", url, ...(body ? { payload: body } : withBody(route.method)) });
        expect(res.statusCode, `${route.method} ${url}: ${res.body.slice(0, 200)}`).toBeLessThan(500);
        if (res.statusCode < 300 && !createsInOwnProject.has(key)) found.push(`${route.method} ${url} → ${res.statusCode}`);
      }
    }
    expect(found).toEqual([]);
    expect(await snapshot()).toEqual(before);
    h.clock.real();
  });

});

describe("CORS", () => {
  const preflight = (url: string, origin: string) =>
    h.app.inject({ method: "OPTIONS", url, headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "authorization,content-type" } });

  it("does not let an arbitrary site call the admin API from a browser", async () => {
    for (const route of adminRoutes.filter((r) => r.method === "GET").slice(0, 10)) {
      const url = placeholder(route.path);
      const res = await h.admin({ method: "GET", url, headers: { origin: "https://evil.example" } });
      expect(res.headers["access-control-allow-origin"], url).toBeUndefined();
      expect((await preflight(url, "https://evil.example")).headers["access-control-allow-origin"], url).toBeUndefined();
    }
    expect((await preflight("/v1/campaigns", "null")).headers["access-control-allow-origin"]).toBeUndefined();
  });

  it("answers the configured admin origin only", async () => {
    const res = await preflight("/v1/campaigns", ADMIN_ORIGIN);
    expect(res.headers["access-control-allow-origin"]).toBe(ADMIN_ORIGIN);
    expect((await preflight("/v1/campaigns", `${ADMIN_ORIGIN}.evil.example`)).headers["access-control-allow-origin"]).toBeUndefined();
  });

  it("lets any site send events, without credentials", async () => {
    for (const url of ["/v1/track", "/v1/batch", "/v1/widget/messages"]) {
      const res = await preflight(url, "https://any-shop.example");
      expect(res.headers["access-control-allow-origin"], url).toBe("https://any-shop.example");
      expect(res.headers["access-control-allow-credentials"]).toBeUndefined();
    }
  });
});
