import { createHarness, type Harness } from "@nurture/testkit";
import { SignJWT, type JWTPayload } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let h: Harness;
let secret: string;
beforeAll(async () => {
  h = await createHarness({ worker: true });
});
afterAll(async () => h.close());

const basic = (writeKey: string) => `Basic ${Buffer.from(`${writeKey}:`).toString("base64")}`;
const sign = (key: string, payload: JWTPayload, alg = "HS256") => new SignJWT(payload).setProtectedHeader({ alg }).sign(new TextEncoder().encode(key));
const nowSeconds = () => Math.floor(Date.now() / 1000);
const valid = (sub: string) => sign(secret, { sub, exp: nowSeconds() + 300 });
const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString("base64url");

type InboxMessage = { id: string; channel: string; content: { text?: string; body?: string; buttonUrl?: string } };
const inbox = (query: Record<string, string>, token?: string, writeKey = h.project.writeKey) =>
  h.app.inject({
    method: "GET",
    url: `/v1/widget/messages?${new URLSearchParams(query)}`,
    headers: { authorization: basic(writeKey), ...(token !== undefined ? { "x-nurture-identity": token } : {}) },
  });
const act = (messageId: string, action: string, body: Record<string, string>, token?: string) =>
  h.app.inject({
    method: "POST",
    url: `/v1/widget/messages/${messageId}/${action}`,
    payload: body,
    headers: { authorization: basic(h.project.writeKey), ...(token !== undefined ? { "x-nurture-identity": token } : {}) },
  });

let annMessage: InboxMessage;

beforeAll(async () => {
  const created = await h.admin({
    method: "POST",
    url: "/v1/campaigns",
    payload: { name: "Private chat", trigger: { type: "event", event: "asked_for_help" }, steps: [{ channel: "chat", content: { text: "Private note for {{ user.name }}: {{ user.secret_code }}", senderName: "Support" } }] },
  });
  expect(created.statusCode, created.body).toBe(201);
  expect((await h.admin({ method: "POST", url: `/v1/campaigns/${created.json().id}/status`, payload: { status: "active" } })).statusCode).toBe(200);

  // The visitors arrive and ask for help before the site turns identity verification on.
  for (const [userId, device, code] of [["ann", "ann-device", "ANN-1234"], ["bob", "bob-device", "BOB-5678"]] as const) {
    await h.track("/v1/identify", { userId, anonymousId: device, traits: { name: userId, secret_code: code } });
    await h.track("/v1/track", { userId, event: "asked_for_help" });
  }
  await h.drain();
  for (let i = 0; i < 200 && !annMessage; i++) {
    annMessage = (await inbox({ anonymousId: "ann-device", userId: "ann" })).json().messages?.[0];
    if (!annMessage) await new Promise((r) => setTimeout(r, 50));
  }
  expect(annMessage.content.text).toContain("ANN-1234");

  const res = await h.admin({ method: "POST", url: "/v1/project/identity-verification/secret" });
  secret = res.json().secret;
});

const revealsNothing = (res: { statusCode: number; body: string }) => {
  expect(res.statusCode).toBe(401);
  expect(res.body).not.toMatch(/ANN-1234|BOB-5678|Private note/);
};

describe("once identity verification is on, a visitor's inbox", () => {
  it("opens with a fresh token signed for that user (the control case)", async () => {
    const res = await inbox({ anonymousId: "ann-device", userId: "ann" }, await valid("ann"));
    expect(res.statusCode).toBe(200);
    expect(res.json().messages.map((m: InboxMessage) => m.content.text)).toEqual(["Private note for ann: ANN-1234"]);
  });

  it("stays closed without a token, by user id or by the user's device id", async () => {
    revealsNothing(await inbox({ anonymousId: "somewhere", userId: "ann" }));
    revealsNothing(await inbox({ anonymousId: "ann-device" }));
    revealsNothing(await inbox({ anonymousId: "ann-device", userId: "ann" }, ""));
  });

  it("stays closed to forged, expired, misdirected and malformed tokens", async () => {
    const forged: [string, string][] = [
      ["signed with another secret", await sign("x".repeat(43), { sub: "ann", exp: nowSeconds() + 300 })],
      ["signed with the public write key", await sign(h.project.writeKey, { sub: "ann", exp: nowSeconds() + 300 })],
      ["expired", await sign(secret, { sub: "ann", exp: nowSeconds() - 600 })],
      ["without expiry", await sign(secret, { sub: "ann" })],
      ["issued for bob", await valid("bob")],
      ["alg none", `${b64({ alg: "none", typ: "JWT" })}.${b64({ sub: "ann", exp: nowSeconds() + 300 })}.`],
      ["HS512 with the right secret", await sign(secret, { sub: "ann", exp: nowSeconds() + 300 }, "HS512")],
      ["garbage", "not.a.token"],
      ["a huge header", "a".repeat(3_999)],
    ];
    for (const [how, token] of forged) {
      const byUserId = await inbox({ anonymousId: "somewhere", userId: "ann" }, token);
      expect(byUserId.statusCode, how).toBe(401);
      revealsNothing(byUserId);
      revealsNothing(await inbox({ anonymousId: "ann-device" }, token));
    }
  });

  it("does not open for another user's valid token used with this user's device id", async () => {
    revealsNothing(await inbox({ anonymousId: "ann-device" }, await valid("bob")));
    // Bob claiming Ann's device with his own valid token sees his own inbox at most.
    const mixed = await inbox({ anonymousId: "ann-device", userId: "bob" }, await valid("bob"));
    expect(mixed.body).not.toMatch(/ANN-1234/);
  });

  it("is not readable through another project's write key", async () => {
    const other = await h.newProject("Elsewhere");
    const res = await inbox({ anonymousId: "ann-device", userId: "ann" }, await valid("ann"), other.writeKey);
    expect(res.statusCode).toBe(200);
    expect(res.json().messages).toEqual([]);
  });

  it("cannot be acted on (reply, dismiss) by someone else", async () => {
    // Bob, properly verified, names Ann's message id.
    const bobToken = await valid("bob");
    expect((await act(annMessage.id, "reply", { anonymousId: "bob-device", userId: "bob", text: "hijack" }, bobToken)).statusCode).toBe(404);
    expect((await act(annMessage.id, "dismissed", { anonymousId: "bob-device", userId: "bob" }, bobToken)).statusCode).toBe(404);
    // Forged or missing tokens for Ann.
    for (const token of [undefined, await sign("x".repeat(43), { sub: "ann", exp: nowSeconds() + 300 }), await sign(secret, { sub: "ann", exp: nowSeconds() - 600 })]) {
      expect((await act(annMessage.id, "dismissed", { anonymousId: "ann-device", userId: "ann" }, token)).statusCode).toBe(401);
      expect((await act(annMessage.id, "dismissed", { anonymousId: "ann-device" }, token)).statusCode).toBe(401);
    }
    // Ann's message is still there, untouched.
    const still = await inbox({ anonymousId: "ann-device", userId: "ann" }, await valid("ann"));
    expect(still.json().messages.map((m: InboxMessage) => m.id)).toEqual([annMessage.id]);
  });
});
