import { appendOpenPixel, rewriteLinks, singleLine, type RenderedContent } from "@nurture/core";
import type { Claim } from "@nurture/backend";
import type Mail from "nodemailer/lib/mailer";

type EmailContent = Extract<RenderedContent, { channel: "email" }>;

/**
 * The email as nodemailer's structured fields: nodemailer builds and encodes every header from
 * them, so a subject or name with CR/LF (already flattened by the renderer) can never add a header,
 * and addresses are passed as {name, address} objects, never parsed from text.
 */
export function buildEmail(claim: Claim, publicUrl: string): Mail.Options {
  const content = claim.content as EmailContent;
  const links = claim.links!;
  const host = new URL(publicUrl).hostname || "localhost";
  const defaults = claim.settings.email;
  const fromAddress = content.fromAddress ?? defaults.fromAddress ?? `no-reply@${host}`;
  const fromName = singleLine(content.fromName ?? defaults.fromName ?? "");
  const replyTo = content.replyTo ?? defaults.replyTo;
  const toName = singleLine(claim.recipient!.name ?? "");
  const html = appendOpenPixel(
    rewriteLinks(content.html, (url) => (url === links.unsubscribe ? null : links.click(url))),
    links.open,
  );
  return {
    from: fromName ? { name: fromName, address: fromAddress } : fromAddress,
    to: toName ? { name: toName, address: claim.recipient!.address } : claim.recipient!.address,
    ...(replyTo ? { replyTo } : {}),
    subject: content.subject,
    html,
    text: `${content.text}\n\n--\nUnsubscribe: ${links.unsubscribe}\n`,
    // A stable Message-ID: a resend after an ambiguous failure can be recognised downstream.
    messageId: `<nurture.${claim.message.id}.${claim.message.project_id}@${host}>`,
    list: { unsubscribe: { url: links.unsubscribe, comment: "Unsubscribe" } },
    // RFC 8058: mailbox providers POST "List-Unsubscribe=One-Click" to the link above.
    headers: { "List-Unsubscribe-Post": "List-Unsubscribe=One-Click" },
    disableFileAccess: true,
    disableUrlAccess: true,
  };
}

export interface SendFailure {
  permanent: boolean;
  /** The recipient address itself was refused (5xx on RCPT): never write to it again. */
  hardBounce: boolean;
  /**
   * The outcome is unknown: the connection was lost (or went silent) after the whole message had
   * been handed over, so the server may have accepted it. Never retried (a second copy is worse
   * than a possible loss, which is recorded with its reason), the address is not suppressed.
   * Absent means false.
   */
  ambiguous?: boolean;
  reason: string;
}

/**
 * How nodemailer reports a connection that is gone without a reply: `ECONNECTION` "Connection closed
 * unexpectedly" (closed at any point after the greeting, the final "." included), `ESOCKET` (reset
 * while writing), `ETIMEDOUT` (silence longer than the socket timeout), or the pool's own message
 * when the connection closed before the greeting.
 */
const CONNECTION_LOST = /^(ECONNECTION|ESOCKET|ETIMEDOUT)$|connection was closed/;

type SmtpError = { responseCode?: number; command?: string; code?: string; response?: string; message?: string; dataHandedOver?: boolean };

/**
 * An SMTP reply decides when there is one: 5xx is permanent (a hard bounce when the recipient was
 * refused), 4xx is retried. Without a reply, the moment decides: a connection lost, reset or timed
 * out before the message data was complete is retried; after it, the failure is ambiguous.
 */
export function classifySmtpError(err: unknown): SendFailure & { ambiguous: boolean } {
  const e = err as SmtpError;
  const reason = (e.response ?? e.message ?? String(err)).slice(0, 500);
  if (typeof e.responseCode === "number" && e.responseCode >= 500) {
    const hardBounce = (e.command ?? "").toUpperCase().startsWith("RCPT") || (e.code === "EENVELOPE" && e.responseCode >= 550 && e.responseCode <= 553);
    return { permanent: true, hardBounce, ambiguous: false, reason: `SMTP ${e.responseCode}: ${reason}` };
  }
  if (typeof e.responseCode === "number") return { permanent: false, hardBounce: false, ambiguous: false, reason: `SMTP ${e.responseCode}: ${reason}` };
  if (e.dataHandedOver === true && CONNECTION_LOST.test(e.code ?? e.message ?? "")) {
    // Permanent as well, so a handler that reads only `permanent` does not resend it either.
    return { permanent: true, hardBounce: false, ambiguous: true, reason: `no reply after the message data, the server may have accepted it (${e.code ?? "error"}: ${reason})` };
  }
  return { permanent: false, hardBounce: false, ambiguous: false, reason: `${e.code ?? "error"}: ${reason}` };
}
