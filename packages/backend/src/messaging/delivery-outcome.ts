import type { Channel, DecisionOutcome, DecisionTraces } from "@nurture/core";
import type { DB, MessageRow } from "@nurture/db";
import { sql, type Transaction } from "kysely";
import type { Campaign } from "./campaigns.repository";
import { recordDecision } from "./decisions.repository";
import { insertMessage } from "./messages.repository";

/** The follow-up a finished step leaves: the series' next message, to enqueue after commit. */
export interface NextDelivery {
  projectId: string;
  messageId: number;
  channel: Channel;
  scheduledFor: Date;
}

/** Inserts the series' next step (if any) in the ledger, due `delay` after now. */
export async function scheduleNextStep(trx: Transaction<DB>, message: MessageRow, campaign: Campaign, now: Date): Promise<NextDelivery | null> {
  const at = campaign.steps.findIndex((s) => s.id === message.step_id);
  const next = at === -1 ? undefined : campaign.steps[at + 1];
  if (!next) return null;
  const scheduledFor = new Date(now.getTime() + next.delayMs);
  const inserted = await insertMessage(trx, {
    projectId: message.project_id,
    campaignId: message.campaign_id,
    stepId: next.id,
    stepIndex: message.step_index + 1,
    userId: message.user_id,
    windowKey: message.window_key,
    seriesId: message.series_id,
    channel: next.channel,
    trigger: message.trigger,
    scheduledFor,
    createdAt: now,
    queued: { reason: `step ${at + 2} (${next.channel}) scheduled for ${scheduledFor.toISOString()}` },
  });
  if (inserted === null) return null;
  const id = inserted.id;
  return { projectId: message.project_id, messageId: id, channel: next.channel, scheduledFor };
}

/** Ends a message without sending it (cancelled, held by a cap, skipped), with its decision. */
export async function finishUnsent(
  trx: Transaction<DB>,
  message: MessageRow,
  status: "cancelled" | "held" | "skipped" | "failed",
  reason: string,
  now: Date,
  traces: DecisionTraces = {},
): Promise<void> {
  await trx
    .updateTable("messages")
    .set({ status, reason, finished_at: now, updated_at: sql`now()` })
    .where("id", "=", message.id)
    .execute();
  const outcome: DecisionOutcome = status;
  await recordDecision(trx, {
    projectId: message.project_id,
    campaignId: message.campaign_id,
    userId: message.user_id,
    stage: "send",
    outcome,
    reason,
    stepId: message.step_id,
    messageId: message.id,
    traces,
    at: now,
  });
}
