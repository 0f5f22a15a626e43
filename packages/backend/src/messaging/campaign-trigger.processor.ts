import { explainCondition, firstMatchingOccurrence, repeatDecision, startOfLocalDay, type Channel, type DecisionTraces, type TriggerOccurrence } from "@nurture/core";
import type { PipelineContext, Processor } from "../pipeline/pipeline.types";
import { campaignsForRun, type Campaign } from "./campaigns.repository";
import { decisionsInsert, moveDecisions, recordDecisions, type NewDecision } from "./decisions.repository";
import { enqueueDelivery } from "./delivery-scheduling";
import { afterInboxSend, deliverToInboxNow, inboxSendNow, signalInbox } from "./inbox-delivery";
import { attributeGoals } from "./goal-attribution";
import { insertMessage, insertMessageStatement, moveMessages, priorSeries, type NewMessage } from "./messages.repository";
import { messagingSettingsOf } from "./messaging-settings";

/** Events older than this (an import of history, a client that was offline for days) fire nothing. */
export const MAX_TRIGGER_AGE_MS = 2 * 86_400_000;

function occurrencesOf(ctx: PipelineContext): TriggerOccurrence[] {
  return [
    ...ctx.events.map((e) => ({ name: e.name, properties: e.properties, occurredAt: e.occurred_at, eventId: e.id })),
    ...ctx.emitted.map((e) => ({ name: e.name, properties: e.properties, occurredAt: e.occurredAt })),
  ];
}

const triggerInfo = (o: TriggerOccurrence) => ({
  name: o.name,
  properties: o.properties,
  occurredAt: o.occurredAt.toISOString(),
  ...(o.eventId !== undefined ? { eventId: o.eventId } : {}),
});

/**
 * Decides, for one campaign whose trigger fired, whether a series starts: the trigger's age, the
 * repetition policy, the audience (with its per-node trace) — then inserts the first step's ledger
 * row and enqueues its delivery after commit.
 */
async function fire(ctx: PipelineContext, campaign: Campaign, occurrence: TriggerOccurrence, decisions: NewDecision[]): Promise<void> {
  const first = campaign.steps[0];
  if (!first) return;
  const base = { projectId: ctx.project.id, campaignId: campaign.id, userId: ctx.user.id, stage: "trigger" as const, stepId: first.id, trigger: triggerInfo(occurrence), at: ctx.now };
  if (ctx.now.getTime() - occurrence.occurredAt.getTime() > MAX_TRIGGER_AGE_MS) {
    decisions.push({ ...base, outcome: "stale_trigger", reason: `the event happened ${occurrence.occurredAt.toISOString()}, more than 2 days ago` });
    return;
  }
  const settings = messagingSettingsOf(ctx.project);
  const repeat = repeatDecision(campaign.repeat, ctx.priorSeries.get(campaign.id) ?? (await priorSeries(ctx.trx, campaign.id, ctx.user.id)), ctx.now, startOfLocalDay(ctx.now, settings.timeZone));
  if (!repeat.allowed) {
    const outcome = ({ received: "already_received", too_soon: "too_soon", held_today: "held" } as const)[repeat.because];
    decisions.push({ ...base, outcome, reason: repeat.reason });
    return;
  }
  const traces: DecisionTraces = {};
  if (campaign.audience) {
    traces.audience = explainCondition(campaign.audience, ctx.card, ctx.now);
    if (!traces.audience[0]!.passed) {
      decisions.push({ ...base, outcome: "not_in_audience", reason: "the audience condition does not hold", traces });
      return;
    }
  }
  const scheduledFor = new Date(ctx.now.getTime() + first.delayMs);
  const inboxNow = first.delayMs === 0 && (first.channel === "popup" || first.channel === "chat");
  const sentNow = inboxNow ? await inboxSendNow(ctx, campaign, first, triggerInfo(occurrence)) : undefined;
  const newMessage: NewMessage = {
    projectId: ctx.project.id,
    campaignId: campaign.id,
    stepId: first.id,
    stepIndex: 0,
    userId: ctx.user.id,
    windowKey: repeat.windowKey,
    channel: first.channel,
    trigger: triggerInfo(occurrence),
    scheduledFor,
    createdAt: ctx.now,
    queued: { reason: `step 1 (${first.channel}) scheduled for ${scheduledFor.toISOString()}`, traces, trigger: base.trigger },
    ...(sentNow ? { sentNow } : {}),
  };
  const existed = `a message for this step already exists (window ${repeat.windowKey})`;
  if (sentNow && campaign.steps.length === 1) {
    // Nothing here needs the row back, so it goes out with the run's COMMIT and records a
    // duplicate itself; waking the inbox for a duplicate costs the widget one look. The row comes
    // back only once committed (a failed run never signals), and the signal leaves at once,
    // ahead of the run's wind-down; the run's after-commit steps wait for it.
    const signalled = ctx
      .writeWithCommit(insertMessageStatement({ ...newMessage, ifExists: existed }))
      .then(([row]) => (row ? signalInbox(ctx.queues, ctx.log, ctx.project.id, ctx.user.id, row) : undefined));
    ctx.afterCommit(() => signalled);
    return;
  }
  const message = await insertMessage(ctx.trx, newMessage);
  if (message === null) {
    decisions.push({ ...base, outcome: "already_received", reason: existed });
    return;
  }
  if (sentNow) return afterInboxSend(ctx, message, campaign);
  if (inboxNow) {
    // The decisions so far go on the record before the send's.
    await recordDecisions(ctx.trx, decisions.splice(0));
    return deliverToInboxNow(ctx, message, campaign);
  }
  const channel: Channel = first.channel;
  ctx.afterCommit(() => enqueueDelivery(ctx.queues, { projectId: ctx.project.id, messageId: message.id, channel, scheduledFor }, ctx.now));
}

/**
 * The triggers step of the pipeline (registered last: it reads the segments, stage and score the
 * steps before it wrote). Matches this run's events and system events against active campaigns,
 * credits goal conversions, and moves a merged-away card's messages to this card.
 */
export const campaignTriggerProcessor: Processor = async (ctx) => {
  for (const e of ctx.events) {
    if (e.name !== "$users_merged") continue;
    const from = Number(e.properties.mergedUserId);
    if (Number.isSafeInteger(from) && from > 0 && from !== ctx.user.id) {
      await moveMessages(ctx.trx, ctx.project.id, from, ctx.user.id);
      await moveDecisions(ctx.trx, ctx.project.id, from, ctx.user.id);
    }
  }
  const occurrences = occurrencesOf(ctx);
  if (occurrences.length === 0) return;
  const { triggered, goals } = await campaignsForRun(ctx.trx, ctx.project, [...new Set(occurrences.map((o) => o.name))]);
  await attributeGoals(ctx.trx, ctx.project.id, ctx.user.id, occurrences, goals);
  const decisions: NewDecision[] = [];
  for (const campaign of triggered) {
    const occurrence = firstMatchingOccurrence(campaign.trigger, occurrences);
    if (occurrence) await fire(ctx, campaign, occurrence, decisions);
  }
  if (decisions.length > 0) ctx.writeWithCommit(decisionsInsert(ctx.trx, decisions));
};
