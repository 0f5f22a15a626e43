import { createHarness, type Harness } from "@nurture/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => h.close());

const operator = { authorization: "Bearer test-operator-token-0123456789" };
const basic = (writeKey: string) => `Basic ${Buffer.from(`${writeKey}:`).toString("base64")}`;

describe("projects and keys", () => {
  it("lets the operator create a project and returns its keys", async () => {
    const res = await h.app.inject({ method: "POST", url: "/v1/projects", headers: operator, payload: { name: "Shop" } });
    expect(res.statusCode).toBe(201);
    const project = res.json();
    expect(project).toMatchObject({ name: "Shop", writeKey: expect.stringMatching(/^wk_/), secretKey: expect.stringMatching(/^sk_/) });
    const me = await h.app.inject({ method: "GET", url: "/v1/project", headers: { authorization: `Bearer ${project.secretKey}` } });
    expect(me.json()).toMatchObject({ id: project.id, name: "Shop", writeKey: project.writeKey });
  });

  it("refuses project creation without the operator token", async () => {
    expect((await h.app.inject({ method: "POST", url: "/v1/projects", payload: { name: "X" } })).statusCode).toBe(401);
    const withSecret = await h.app.inject({ method: "POST", url: "/v1/projects", headers: { authorization: `Bearer ${h.project.secretKey}` }, payload: { name: "X" } });
    expect(withSecret.statusCode).toBe(401);
  });

  it("names the bad field", async () => {
    const res = await h.app.inject({ method: "POST", url: "/v1/projects", headers: operator, payload: { name: "" } });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details[0].path).toBe("body.name");
  });

  it("rotates keys: the old ones stop working at once", async () => {
    const project = await h.newProject("Rotating");
    const rotated = await h.app.inject({ method: "POST", url: "/v1/project/keys/rotate", headers: { authorization: `Bearer ${project.secretKey}` }, payload: {} });
    expect(rotated.statusCode).toBe(200);
    const { writeKey, secretKey } = rotated.json();
    expect((await h.app.inject({ method: "GET", url: "/v1/project", headers: { authorization: `Bearer ${project.secretKey}` } })).statusCode).toBe(401);
    expect((await h.app.inject({ method: "GET", url: "/v1/project", headers: { authorization: `Bearer ${secretKey}` } })).statusCode).toBe(200);
    const oldWrite = await h.app.inject({ method: "POST", url: "/v1/track", headers: { authorization: basic(project.writeKey) }, payload: { anonymousId: "a", event: "e" } });
    expect(oldWrite.statusCode).toBe(401);
    const newWrite = await h.app.inject({ method: "POST", url: "/v1/track", headers: { authorization: basic(writeKey) }, payload: { anonymousId: "a", event: "e" } });
    expect(newWrite.statusCode).toBe(200);
  });

  it("keeps a write key out of the admin API", async () => {
    const res = await h.app.inject({ method: "GET", url: "/v1/users", headers: { authorization: `Bearer ${h.project.writeKey}` } });
    expect(res.statusCode).toBe(403);
  });
});

describe("tenant isolation", () => {
  it("never shows one project's users or events to another, even with the same ids", async () => {
    const other = await h.newProject("Competitor");
    const send = (writeKey: string, body: object) => h.app.inject({ method: "POST", url: "/v1/batch", headers: { authorization: basic(writeKey) }, payload: body });
    const batch = { batch: [{ type: "identify", messageId: "same-message", userId: "same-user", traits: { secret: "ours" } }] };
    expect((await send(h.project.writeKey, batch)).json().stored).toBe(1);
    const theirs = { batch: [{ type: "identify", messageId: "same-message", userId: "same-user", traits: { secret: "theirs" } }] };
    // Same messageId in another project is another event, not a duplicate.
    expect((await send(other.writeKey, theirs)).json().stored).toBe(1);

    const ours = await h.admin({ method: "GET", url: "/v1/users/same-user" });
    const them = await h.app.inject({ method: "GET", url: "/v1/users/same-user", headers: { authorization: `Bearer ${other.secretKey}` } });
    expect(ours.json().properties.secret).toBe("ours");
    expect(them.json().properties.secret).toBe("theirs");

    // Internal ids of another project's card are simply not found.
    const theirId = them.json().id;
    expect((await h.admin({ method: "GET", url: `/v1/users/${theirId}?by=id` })).statusCode).toBe(404);
    const listed = await h.app.inject({ method: "GET", url: "/v1/users?limit=500", headers: { authorization: `Bearer ${other.secretKey}` } });
    expect(listed.json().items.map((u: { userId: string }) => u.userId)).toEqual(["same-user"]);
  });
});

describe("user list", () => {
  it("searches and pages with a cursor", async () => {
    const project = await h.newProject("Paging");
    const headers = { authorization: basic(project.writeKey) };
    const batch = Array.from({ length: 7 }, (_, i) => ({
      type: "identify",
      userId: `pager-${i}`,
      traits: { email: `pager${i}@example.com` },
      timestamp: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString(),
    }));
    await h.app.inject({ method: "POST", url: "/v1/batch", headers, payload: { batch } });
    const admin = { authorization: `Bearer ${project.secretKey}` };
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const url: string = `/v1/users?limit=3${cursor ? `&cursor=${cursor}` : ""}`;
      const page = (await h.app.inject({ method: "GET", url, headers: admin })).json();
      seen.push(...page.items.map((u: { userId: string }) => u.userId));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(["pager-6", "pager-5", "pager-4", "pager-3", "pager-2", "pager-1", "pager-0"]);
    const found = (await h.app.inject({ method: "GET", url: "/v1/users?q=PAGER3@", headers: admin })).json();
    expect(found.items.map((u: { userId: string }) => u.userId)).toEqual(["pager-3"]);
  });
});

describe("health", () => {
  it("reports database and Redis readiness", async () => {
    const res = await h.app.inject({ method: "GET", url: "/health" });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: "ok", database: "up", redis: "up" });
  });

  it("serves the OpenAPI document built from the route schemas", async () => {
    const doc = (await h.app.inject({ method: "GET", url: "/docs/json" })).json();
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/v1/track", "/v1/batch", "/v1/users/{id}", "/v1/users/{id}/props"]));
  });
});
