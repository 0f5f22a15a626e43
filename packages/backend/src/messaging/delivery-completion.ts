import { sql } from "kysely";
import { recordDecision } from "./decisions.repository";
import { scheduleNextStep, type NextDelivery } from "./delivery-outcome";
import type { Claim, DeliveryDeps } from "./delivery-preparation";

export type Completion = { kept: true; next: NextDelivery | null } | { kept: false };

/**
 * Marks a claimed message sent (email: accepted by the SMTP server; popup/chat: in the inbox) and
 * schedules the series' next step. Only the claim holder can: if another worker took the message
 * over meanwhile, nothing changes.
 */
export async function completeDelivery(deps: Pick<DeliveryDeps, "db" | "now">, claim: Claim, result: { detail?: string } = {}): Promise<Completion> {
  const where = claim.recipient ? ` to ${claim.recipient.address}` : claim.content.channel === "webhook" ? ` to ${claim.content.url}` : " to the on-site inbox";
  const reason = `${claim.message.channel}${where}${result.detail ? ` (${result.detail})` : ""}`;
  const steps = claim.campaign.steps;
  const last = steps.findIndex((s) => s.id === claim.message.step_id) === steps.length - 1;
  if (last && claim.content.channel !== "chat") {
    // The common case in one atomic statement (one round trip): mark sent and record the decision.
    const now = deps.now();
    const delivered = claim.message.channel === "email" || claim.message.channel === "webhook" ? now : null;
    const done = await sql<{ id: number }>`
      WITH u AS (
        UPDATE messages SET status = 'sent', reason = NULL, sent_at = ${now}, delivered_at = coalesce(delivered_at, ${delivered}::timestamptz),
          finished_at = ${now}, claim_token = NULL, claimed_until = NULL, updated_at = now()
        WHERE id = ${claim.message.id} AND claim_token = ${claim.token}
        RETURNING id, project_id, campaign_id, user_id, step_id
      )
      INSERT INTO message_decisions (project_id, campaign_id, user_id, stage, outcome, reason, step_id, message_id, traces, created_at)
      SELECT project_id, campaign_id, user_id, 'send', 'sent', ${reason}, step_id, id, '{}'::jsonb, ${now} FROM u
      RETURNING id
    `.execute(deps.db);
    return done.rows.length > 0 ? { kept: true, next: null } : { kept: false };
  }
  return deps.db.transaction().execute(async (trx): Promise<Completion> => {
    const now = deps.now();
    const updated = await trx
      .updateTable("messages")
      .set({
        status: "sent",
        reason: null,
        sent_at: now,
        ...(claim.message.channel === "email" || claim.message.channel === "webhook" ? { delivered_at: now } : {}),
        finished_at: now,
        claim_token: null,
        claimed_until: null,
        updated_at: sql`now()`,
      })
      .where("id", "=", claim.message.id)
      .where("claim_token", "=", claim.token)
      .returningAll()
      .executeTakeFirst();
    if (!updated) return { kept: false };
    if (claim.content.channel === "chat") {
      await trx
        .insertInto("conversation_lines")
        .values({ project_id: updated.project_id, user_id: updated.user_id, message_id: updated.id, direction: "out", author: claim.content.senderName ?? null, text: claim.content.text, created_at: now })
        .execute();
    }
    await recordDecision(trx, {
      projectId: updated.project_id,
      campaignId: updated.campaign_id,
      userId: updated.user_id,
      stage: "send",
      outcome: "sent",
      reason,
      stepId: updated.step_id,
      messageId: updated.id,
      at: now,
    });
    return { kept: true, next: await scheduleNextStep(trx, updated, claim.campaign, now) };
  });
}

/**
 * A permanent failure (SMTP 5xx, webhook 4xx, retries exhausted): recorded, the address suppressed
 * on a hard bounce, and the series goes on with its next step.
 */
export async function failDelivery(
  deps: Pick<DeliveryDeps, "db" | "now">,
  claim: Claim,
  reason: string,
  options: { suppressAddress?: string } = {},
): Promise<NextDelivery | null> {
  return deps.db.transaction().execute(async (trx) => {
    const now = deps.now();
    const updated = await trx
      .updateTable("messages")
      .set({ status: "failed", reason, finished_at: now, claim_token: null, claimed_until: null, updated_at: sql`now()` })
      .where("id", "=", claim.message.id)
      .where("claim_token", "=", claim.token)
      .returningAll()
      .executeTakeFirst();
    if (!updated) return null;
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
  });
}

/**
 * A temporary failure: the claim is given back so the retry (or another worker) can send it; the
 * message is due again when the job's backoff ends, so the sweeper does not cut the backoff short.
 */
export async function releaseClaim(deps: Pick<DeliveryDeps, "db" | "now">, claim: Claim, reason: string, retryAt: Date): Promise<void> {
  await deps.db.transaction().execute(async (trx) => {
    const now = deps.now();
    const updated = await trx
      .updateTable("messages")
      .set({ status: "queued", reason, scheduled_for: retryAt, claim_token: null, claimed_until: null, updated_at: sql`now()` })
      .where("id", "=", claim.message.id)
      .where("claim_token", "=", claim.token)
      .returning(["project_id", "campaign_id", "user_id", "step_id", "id"])
      .executeTakeFirst();
    if (!updated) return;
    await recordDecision(trx, {
      projectId: updated.project_id,
      campaignId: updated.campaign_id,
      userId: updated.user_id,
      stage: "send",
      outcome: "retrying",
      reason: `${reason}; retrying at ${retryAt.toISOString()}`,
      stepId: updated.step_id,
      messageId: updated.id,
      at: now,
    });
  });
}
