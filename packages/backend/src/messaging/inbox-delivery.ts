import type { MessageRow } from "@nurture/db";
import type { Queues } from "@nurture/jobs";
import type { Logger } from "pino";
import type { PipelineContext } from "../pipeline/pipeline.types";
import type { Campaign, CampaignStep } from "./campaigns.repository";
import { chatLineOf, continueSeries, markSent, sentReason } from "./delivery-completion";
import type { NextDelivery } from "./delivery-outcome";
import { inboxContentNow, prepareSend, type Claim } from "./delivery-preparation";
import { widgetMessage, type WidgetMessage } from "./widget-inbox";
import type { NewMessage } from "./messages.repository";
import { enqueueDelivery } from "./delivery-scheduling";

/** A claimed message as it was recorded sent, for its inbox signal. */
export const sentClaim = (claim: Claim, at: Date) => ({ id: claim.message.id, channel: claim.message.channel, content: claim.content as unknown as Record<string, unknown>, sent_at: at });

const noEmailLinks = () => {
  throw new Error("an inbox message has no email links");
};

/**
 * Wakes the visitor's waiting widget requests once their inbox holds a new message (after commit),
 * handing them the message, so they answer without reading the inbox again. A signal lost with
 * Redis only means the widget finds the message on its next look, so a failure is logged and not
 * passed on.
 */
export function signalInbox(queues: Queues, log: Logger, projectId: string, userId: number, sent: Pick<MessageRow, "id" | "channel" | "content" | "sent_at">): Promise<void> {
  const message = widgetMessage(sent.id, sent.channel as WidgetMessage["channel"], sent.content, sent.sent_at ?? new Date());
  return queues.signalInbox(projectId, userId, [message]).catch((err) => log.debug({ err, projectId, userId }, "inbox signal not sent"));
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
  ctx.afterCommit(() => signalInbox(ctx.queues, ctx.log, ctx.project.id, message.user_id, message));
  const next = await continueSeries(ctx.trx, message, campaign, ctx.now);
  if (next) ctx.afterCommit(() => enqueueDelivery(ctx.queues, next, ctx.now));
}

/**
 * A popup or chat message due the moment its trigger fires that `inboxSendNow` could not decide
 * alone goes into the inbox inside the pipeline's own transaction — the inbox is the ledger row,
 * so there is nothing to hand over and no reason for a second queue hop. The delivery worker's
 * send-time checks apply (caps, quiet hours, the step's condition); a message they hold back
 * continues through its channel's queue.
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
      ctx.afterCommit(() => signalInbox(ctx.queues, ctx.log, ctx.project.id, prepared.claim.user.id, sentClaim(prepared.claim, ctx.now)));
      break;
  }
  if (next) {
    const due = next;
    ctx.afterCommit(() => enqueueDelivery(ctx.queues, due, ctx.now));
  }
}
