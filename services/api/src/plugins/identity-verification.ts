import { AppError } from "@nurture/backend";
import type { ProjectRow } from "@nurture/db";
import { errors, jwtVerify } from "jose";

/**
 * Identity verification: the site's server signs a short-lived JWT (HS256, `sub` = the user id,
 * `exp` required) with the project's identity secret, and the browser passes it along with
 * identify (`context.identityToken`) and widget calls (`X-Nurture-Identity`). Without it anyone
 * could claim any user id from the browser and read that person's inbox.
 */
export interface IdentitySettings {
  /** Shared with the site's server; absent until generated. */
  secret: string | null;
  /** Refuse unverified user ids. On by default once a secret exists. */
  required: boolean;
}

export const IDENTITY_SETTINGS_SECTION = "identity";
/** Tolerated clock difference between the site's server and ours. */
const CLOCK_TOLERANCE_SECONDS = 30;

export function identitySettings(project: Pick<ProjectRow, "settings">): IdentitySettings {
  const raw = (project.settings?.[IDENTITY_SETTINGS_SECTION] ?? {}) as { secret?: unknown; required?: unknown };
  const secret = typeof raw.secret === "string" && raw.secret ? raw.secret : null;
  return { secret, required: secret !== null && raw.required !== false };
}

export type IdentityCheck = { ok: true } | { ok: false; reason: "missing" | "malformed" | "bad_signature" | "expired" | "wrong_user" | "no_secret" };

export async function verifyIdentityToken(secret: string | null, userId: string, token: string | undefined, now: Date): Promise<IdentityCheck> {
  if (!secret) return { ok: false, reason: "no_secret" };
  if (!token) return { ok: false, reason: "missing" };
  try {
    const { payload } = await jwtVerify(token, new TextEncoder().encode(secret), {
      algorithms: ["HS256"],
      currentDate: now,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      requiredClaims: ["sub", "exp"],
    });
    return payload.sub === userId ? { ok: true } : { ok: false, reason: "wrong_user" };
  } catch (error) {
    if (error instanceof errors.JWTExpired) return { ok: false, reason: "expired" };
    if (error instanceof errors.JWSSignatureVerificationFailed) return { ok: false, reason: "bad_signature" };
    return { ok: false, reason: "malformed" };
  }
}

const REASONS: Record<Exclude<IdentityCheck, { ok: true }>["reason"], string> = {
  missing: "this project requires identity verification: send the identity token signed by your server",
  malformed: "the identity token is not a valid HS256 JWT with `sub` and `exp`",
  bad_signature: "the identity token was not signed with this project's identity secret",
  expired: "the identity token has expired: sign a fresh one",
  wrong_user: "the identity token was issued for another user id",
  no_secret: "this project has no identity secret",
};

/**
 * Throws 401 when the project requires verification and `token` does not prove `userId`.
 * For ingestion (identify from browsers) and the widget routes; `path` names the offending field.
 */
export async function assertVerifiedIdentity(project: Pick<ProjectRow, "settings">, userId: string, token: string | undefined, now: Date, path = "context.identityToken"): Promise<void> {
  const settings = identitySettings(project);
  if (!settings.required) return;
  const check = await verifyIdentityToken(settings.secret, userId, token, now);
  if (!check.ok) throw new AppError("unauthorized", `Unverified user id: ${REASONS[check.reason]}`, [{ path, message: check.reason }]);
}
