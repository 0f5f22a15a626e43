import { createHarness, type Harness } from "@nurture/testkit";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertVerifiedIdentity, identitySettings, verifyIdentityToken } from "../plugins/identity-verification";

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => h.close());

const sign = (secret: string, sub: string, exp: number | string, alg = "HS256") =>
  new SignJWT({}).setProtectedHeader({ alg }).setSubject(sub).setExpirationTime(exp).sign(new TextEncoder().encode(secret));
const now = new Date("2026-05-01T12:00:00Z");
const at = (offsetSeconds: number) => Math.floor(now.getTime() / 1000) + offsetSeconds;

describe("identity tokens", () => {
  const secret = "s".repeat(43);

  it("prove a user id when signed with the project's secret, unexpired, for that user", async () => {
    expect(await verifyIdentityToken(secret, "ann", await sign(secret, "ann", at(600)), now)).toEqual({ ok: true });
  });

  it.each([
    ["expired", async () => sign(secret, "ann", at(-120))],
    ["wrong_user", async () => sign(secret, "bob", at(600))],
    ["bad_signature", async () => sign("another-secret-another-secret-another", "ann", at(600))],
    ["malformed", async () => "not.a.jwt"],
    ["missing", async () => undefined],
  ])("are refused as %s", async (reason, token) => {
    expect(await verifyIdentityToken(secret, "ann", await token(), now)).toEqual({ ok: false, reason });
  });

  it("must expire", async () => {
    const endless = await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject("ann").sign(new TextEncoder().encode(secret));
    expect(await verifyIdentityToken(secret, "ann", endless, now)).toEqual({ ok: false, reason: "malformed" });
  });

  it("are only demanded from projects that require them", async () => {
    await expect(assertVerifiedIdentity({ settings: {} }, "ann", undefined, now)).resolves.toBeUndefined();
    const project = { settings: { identity: { secret, required: true } } };
    await expect(assertVerifiedIdentity(project, "ann", undefined, now)).rejects.toMatchObject({ code: "unauthorized", details: [{ path: "context.identityToken", message: "missing" }] });
    await expect(assertVerifiedIdentity(project, "ann", await sign(secret, "ann", at(60)), now)).resolves.toBeUndefined();
  });
});

describe("the identity-verification settings API", () => {
  it("is off until a secret is generated, then required; it can be relaxed while a site migrates", async () => {
    expect((await h.admin({ method: "GET", url: "/v1/project/identity-verification" })).json()).toEqual({ enabled: false, required: false });
    expect((await h.admin({ method: "PUT", url: "/v1/project/identity-verification", payload: { required: true } })).statusCode).toBe(409);

    const generated = await h.admin({ method: "POST", url: "/v1/project/identity-verification/secret" });
    expect(generated.statusCode).toBe(200);
    const { secret } = generated.json();
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await h.admin({ method: "GET", url: "/v1/project/identity-verification" })).json()).toEqual({ enabled: true, required: true });

    const relaxed = await h.admin({ method: "PUT", url: "/v1/project/identity-verification", payload: { required: false } });
    expect(relaxed.json()).toEqual({ enabled: true, required: false });
    const project = await h.db.selectFrom("projects").selectAll().where("id", "=", h.project.id).executeTakeFirstOrThrow();
    expect(identitySettings(project)).toEqual({ secret, required: false });
  });

  it("needs the secret key", async () => {
    expect((await h.app.inject({ method: "POST", url: "/v1/project/identity-verification/secret" })).statusCode).toBe(401);
  });
});
