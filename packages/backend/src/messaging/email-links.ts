import { createHmac, timingSafeEqual } from "node:crypto";

/** What a signed email link does: unsubscribe, count an open (pixel), or count a click and redirect. */
export type LinkPurpose = "unsubscribe" | "open" | "click";

export interface LinkPayload {
  messageId: number;
  /** The click target. */
  url?: string;
}

export interface LinkSigner {
  sign(purpose: LinkPurpose, payload: LinkPayload): string;
  /** The payload when the token is genuine and made for this purpose; null otherwise. */
  verify(purpose: LinkPurpose, token: string): LinkPayload | null;
}

const mac = (secret: string, purpose: LinkPurpose, body: string) => createHmac("sha256", secret).update(`${purpose}.${body}`).digest().subarray(0, 18);

/**
 * Tokens are `<base64url JSON>.<base64url HMAC-SHA256>` (144-bit tag) keyed by SIGNING_SECRET and the
 * purpose, so an open-pixel token cannot unsubscribe and a click token cannot redirect elsewhere.
 */
export function createLinkSigner(secret: string): LinkSigner {
  return {
    sign(purpose, payload) {
      const body = Buffer.from(JSON.stringify(payload.url === undefined ? [payload.messageId] : [payload.messageId, payload.url])).toString("base64url");
      return `${body}.${mac(secret, purpose, body).toString("base64url")}`;
    },
    verify(purpose, token) {
      const dot = token.indexOf(".");
      if (dot <= 0 || token.length > 8_000) return null;
      const body = token.slice(0, dot);
      const given = Buffer.from(token.slice(dot + 1), "base64url");
      const expected = mac(secret, purpose, body);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
      try {
        const parsed: unknown = JSON.parse(Buffer.from(body, "base64url").toString("utf8"));
        if (!Array.isArray(parsed) || !Number.isSafeInteger(parsed[0]) || parsed[0] <= 0) return null;
        return { messageId: parsed[0] as number, ...(typeof parsed[1] === "string" ? { url: parsed[1] } : {}) };
      } catch {
        return null;
      }
    },
  };
}

export interface EmailLinks {
  unsubscribe: string;
  open: string;
  click(url: string): string;
}

/** Absolute links for one message, served by the API's email-links routes. */
export function emailLinks(signer: LinkSigner, publicUrl: string, messageId: number): EmailLinks {
  const base = publicUrl.replace(/\/+$/, "");
  return {
    unsubscribe: `${base}/email/unsubscribe/${signer.sign("unsubscribe", { messageId })}`,
    open: `${base}/email/open/${signer.sign("open", { messageId })}`,
    click: (url) => `${base}/email/click/${signer.sign("click", { messageId, url })}`,
  };
}

/** Where links point: PUBLIC_URL, else the API's own address. */
export function publicBaseUrl(config: { PUBLIC_URL?: string | undefined; HOST: string; PORT: number }): string {
  return config.PUBLIC_URL ?? `http://${config.HOST}:${config.PORT}`;
}

export function signingSecretOf(config: { SIGNING_SECRET?: string | undefined }): string {
  if (!config.SIGNING_SECRET) throw new Error("SIGNING_SECRET is not set: email links (unsubscribe, open, click) cannot be signed");
  return config.SIGNING_SECRET;
}
