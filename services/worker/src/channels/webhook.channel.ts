import { webhookSignature } from "@nurture/backend";
import type { SendFailure } from "./email.channel";

export class WebhookError extends Error {
  constructor(readonly failure: SendFailure) {
    super(failure.reason);
    this.name = "WebhookError";
  }
}

/**
 * POSTs the rendered JSON with `X-Nurture-Signature` (HMAC-SHA256 over "<t>.<body>"). 2xx is sent;
 * 408, 429 and 5xx are retried; other answers are permanent. Redirects are not followed.
 */
export async function postWebhook(url: string, body: unknown, secret: string, now: Date, ids: { messageId: number }): Promise<{ status: number }> {
  const text = JSON.stringify(body);
  let response: Response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "user-agent": "Nurture-Webhook/1",
        "x-nurture-signature": webhookSignature(secret, text, now),
        "x-nurture-message-id": String(ids.messageId),
      },
      body: text,
      redirect: "manual",
      signal: AbortSignal.timeout(10_000),
    });
  } catch (err) {
    throw new WebhookError({ permanent: false, hardBounce: false, reason: `webhook unreachable: ${(err as Error).message}` });
  }
  await response.body?.cancel().catch(() => undefined);
  if (response.status >= 200 && response.status < 300) return { status: response.status };
  const retry = response.status === 408 || response.status === 429 || response.status >= 500;
  throw new WebhookError({ permanent: !retry, hardBounce: false, reason: `webhook answered HTTP ${response.status}` });
}
