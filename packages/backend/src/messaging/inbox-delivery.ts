import type { MessageRow } from "@nurture/db";
import type { Queues } from "@nurture/jobs";
import type { Logger } from "pino";
import type { PipelineContext } from "../pipeline/pipeline.types";
import type { Campaign } from "./campaigns.repository";
import type { CampaignStep } from "./campaigns.repository";
import { chatLineOf, continueSeries, markSent, sentReason } from "./delivery-completion";
import type { NextDelivery } from "./delivery-outcome";
import { inboxContentNow, prepareSend } from "./delivery-preparation";
import type { NewMessage } from "./messages.repository";
import { enqueueDelivery } from "./delivery-scheduling";

const noEmailLinks = () => {
  throw new Error("an inbox message has no email links");
};

/**
 * Wakes the visitor's waiting widget requests once their inbox holds a new message (after commit).
 * A signal lost with Redis only means the widget finds the message on its next look, so a failure
 * is logged and not passed on.
 */
export function signalInbox(queues: Queues, log: Logger, projectId: string, userId: number): Promise<void> {
  return queues.signalInbox(projectId, userId).catch((err) => log.debug({ err, projectId, userId }, "inbox signal not sent"));
}

/**
 * A popup or chat step due the moment its trigger fires, when nothing holds it back (see
 * inboxContentNow): what its ledger row is written with, as sent. Undefined when it must go
 * through the send-time checks (`deliverToInboxNow`) instead.
 */
export async function inboxSendNow(ctx: PipelineContext, campaign: Campaign, step: CampaignStep, trigger: Record<string, unknown>): Promise<NewMessage["sentNow"]> {
  const fresh = { user: ctx.user, card: ctx.card, campaign, projectSettings: ctx.project.settings };
  const content = await inboxContentNow(fresh, step, trigger, ctx.now);
  return content ? { content, reason: sentReason(content, null), chatLine: chatLineOf(content) } : undefined;
}

/** After a message was written to the inbox as sent: the visitor's widget is woken, the series goes on. */
export async function afterInboxSend(ctx: PipelineContext, message: MessageRow, campaign: Campaign): Promise<void> {
  ctx.afterCommit(() => signalInbox(ctx.queues, ctx.log, ctx.project.id, message.user_id));
  const next = await continueSeries(ctx.trx, message, campaign, ctx.now);
  if (next) ctx.afterCommit(() => enqueueDelivery(ctx.queues, next, ctx.now));
}

/**
 * A popup or chat message due the moment its trigger fires that the send-time checks must see
 * (a daily cap to count, quiet hours, a step condition that fails…) goes into the inbox inside the pipeline's
 * own transaction — the inbox is the ledger row, so there is nothing to hand over and no reason for
 * a second queue hop. The same send-time checks apply as in the delivery worker (caps, quiet hours,
 * the step's condition); a message they hold back continues through its channel's queue.
 */
export async function deliverToInboxNow(ctx: PipelineContext, message: MessageRow, campaign: Campaign): Promise<void> {
  const prepared = await prepareSend(ctx.trx, { emailLinks: noEmailLinks }, message, ctx.now, {
    user: ctx.user,
    card: ctx.card,
    campaign,
    projectSettings: ctx.project.settings,
  });
  let next: NextDelivery | null = null;
  switch (prepared.kind) {
    case "done":
      return;
    case "wait":
      next = { projectId: message.project_id, messageId: message.id, channel: prepared.channel, scheduledFor: prepared.until };
      break;
    case "stopped":
      next = prepared.next;
      break;
    case "send":
      next = await markSent(ctx.trx, prepared.claim, ctx.now);
      ctx.afterCommit(() => signalInbox(ctx.queues, ctx.log, ctx.project.id, prepared.claim.user.id));
      break;
  }
  if (next) {
    const due = next;
    ctx.afterCommit(() => enqueueDelivery(ctx.queues, due, ctx.now));
  }
}
