import type { RenderedContent } from "@nurture/core";
import { prepared, type DB, type MessageRow } from "@nurture/db";
import { sql, type Transaction } from "kysely";
import { recordDecision } from "./decisions.repository";
import { scheduleNextStep, type NextDelivery } from "./delivery-outcome";
import type { Campaign } from "./campaigns.repository";
import type { Claim } from "./delivery-preparation";

type Trx = Transaction<DB>;

const forgetHandover = (trx: Trx, messageId: number) => trx.deleteFrom("message_handovers").where("message_id", "=", messageId).execute();

/** The "sent" decision's reason: the channel and where the message went. */
export function sentReason(content: RenderedContent, recipientAddress: string | null): string {
  const where = recipientAddress ? ` to ${recipientAddress}` : content.channel === "webhook" ? ` to ${content.url}` : " to the on-site inbox";
  return `${content.channel}${where}`;
}

/** A sent chat message's line in the user's conversation. */
export const chatLineOf = (content: RenderedContent): { author: string | null; text: string } | null =>
  content.channel === "chat" ? { author: content.senderName ?? null, text: content.text } : null;

/** The series' next step after a sent message, inserted; null after its last. */
export function continueSeries(trx: Trx, message: MessageRow, campaign: Campaign, now: Date): Promise<NextDelivery | null> {
  const last = campaign.steps.findIndex((s) => s.id === message.step_id) === campaign.steps.length - 1;
  return last ? Promise.resolve(null) : scheduleNextStep(trx, message, campaign, now);
}

/**
 * Records a claimed message as sent (email: accepted by the SMTP server; popup/chat: in the inbox)
 * with its decision, and inserts the series' next step. Senders write this before handing the
 * message over and commit right after the hand-over succeeds, so the only work between the
 * server's acceptance and the durable record is the COMMIT itself.
 */
export async function markSent(trx: Trx, claim: Claim, now: Date): Promise<NextDelivery | null> {
  const delivered = claim.message.channel === "email" || claim.message.channel === "webhook" ? now : null;
  await prepared(sql`
    WITH u AS (
      UPDATE messages SET status = 'sent', reason = NULL, sent_at = ${now}, delivered_at = coalesce(delivered_at, ${delivered}::timestamptz),
        finished_at = ${now}, recipient = ${claim.recipient?.address ?? null}, content = ${JSON.stringify(claim.content)}::jsonb,
        user_id = ${claim.user.id}, attempts = attempts + 1, updated_at = now()
      WHERE id = ${claim.message.id}
      RETURNING id, project_id, campaign_id, user_id, step_id
    )
    INSERT INTO message_decisions (project_id, campaign_id, user_id, stage, outcome, reason, step_id, message_id, traces, created_at)
    SELECT project_id, campaign_id, user_id, 'send', 'sent', ${sentReason(claim.content, claim.recipient?.address ?? null)}, step_id, id, '{}'::jsonb, ${now} FROM u
  `, 1).execute(trx);
  const line = chatLineOf(claim.content);
  if (line) {
    await trx
      .insertInto("conversation_lines")
      .values({ project_id: claim.message.project_id, user_id: claim.user.id, message_id: claim.message.id, direction: "out", ...line, created_at: now })
      .execute();
  }
  return continueSeries(trx, { ...claim.message, user_id: claim.user.id }, claim.campaign, now);
}

/**
 * A permanent failure (SMTP 5xx, webhook 4xx, an outcome that cannot be known, retries exhausted):
 * recorded, the address suppressed on a hard bounce, and the series goes on with its next step.
 */
export async function markFailed(trx: Trx, claim: Claim, reason: string, now: Date, options: { suppressAddress?: string } = {}): Promise<NextDelivery | null> {
  await forgetHandover(trx, claim.message.id);
  const updated = await trx
    .updateTable("messages")
    .set({ status: "failed", reason, finished_at: now, recipient: claim.recipient?.address ?? null, attempts: sql`attempts + 1`, updated_at: sql`now()` })
    .where("id", "=", claim.message.id)
    .returningAll()
    .executeTakeFirstOrThrow();
  if (options.suppressAddress) {
    await trx
      .insertInto("email_suppressions")
      .values({ project_id: updated.project_id, address: options.suppressAddress.toLowerCase(), reason: "hard_bounce", detail: reason.slice(0, 1_000), message_id: updated.id })
      .onConflict((oc) => oc.columns(["project_id", "address"]).doNothing())
      .execute();
    await trx.insertInto("message_events").values({ project_id: updated.project_id, message_id: updated.id, type: "bounced", detail: JSON.stringify({ reason: reason.slice(0, 1_000) }), occurred_at: now }).execute();
  }
  await recordDecision(trx, {
    projectId: updated.project_id,
    campaignId: updated.campaign_id,
    userId: updated.user_id,
    stage: "send",
    outcome: "failed",
    reason,
    stepId: updated.step_id,
    messageId: updated.id,
    at: now,
  });
  return scheduleNextStep(trx, updated, claim.campaign, now);
}

/**
 * A temporary failure: the message stays queued, due again when the job's backoff ends (so the
 * sweeper does not cut the backoff short), with the attempt on record.
 */
export async function markRetrying(trx: Trx, claim: Claim, reason: string, retryAt: Date, now: Date): Promise<void> {
  // The server answered (a 4xx after the data, say): this hand-over is settled, the retry is clean.
  await forgetHandover(trx, claim.message.id);
  await trx
    .updateTable("messages")
    .set({ status: "queued", reason, scheduled_for: retryAt, attempts: sql`attempts + 1`, updated_at: sql`now()` })
    .where("id", "=", claim.message.id)
    .execute();
  await recordDecision(trx, {
    projectId: claim.message.project_id,
    campaignId: claim.message.campaign_id,
    userId: claim.user.id,
    stage: "send",
    outcome: "retrying",
    reason: `${reason}; retrying at ${retryAt.toISOString()}`,
    stepId: claim.message.step_id,
    messageId: claim.message.id,
    at: now,
  });
}
