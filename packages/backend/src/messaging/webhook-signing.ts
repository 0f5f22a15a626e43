import { createHmac } from "node:crypto";

/**
 * Each project's webhook secret is derived from SIGNING_SECRET, so it needs no storage and is shown
 * to the project's admins by the messaging settings route.
 */
export function webhookSecret(signingSecret: string, projectId: string): string {
  return `whs_${createHmac("sha256", signingSecret).update(`webhook:${projectId}`).digest("base64url")}`;
}

/** `X-Nurture-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` (receivers reject stale t). */
export function webhookSignature(secret: string, body: string, at: Date): string {
  const t = Math.floor(at.getTime() / 1000);
  return `t=${t},v1=${createHmac("sha256", secret).update(`${t}.${body}`).digest("hex")}`;
}
