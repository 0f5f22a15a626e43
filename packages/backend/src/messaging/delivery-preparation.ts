import {
  capDecision,
  explainCondition,
  isGoalEvent,
  quietHoursEnd,
  renderStepContent,
  startOfLocalDay,
  templateData,
  TemplateRenderError,
  type Channel,
  type MessagingSettings,
  type RenderedContent,
  type UserCard,
} from "@nurture/core";
import type { DB, Db, MessageRow, UserRow } from "@nurture/db";
import { sql, type Transaction } from "kysely";
import { loadCard } from "../pipeline/card-loader";
import { getCampaign, type Campaign, type CampaignStep } from "./campaigns.repository";
import { recordDecision } from "./decisions.repository";
import { finishUnsent, scheduleNextStep, type NextDelivery } from "./delivery-outcome";
import type { EmailLinks } from "./email-links";
import { mergedInto } from "./messages.repository";
import { messagingSettingsOf } from "./messaging-settings";
import { lockUserSends } from "./send-lock";

export interface DeliveryDeps {
  db: Db;
  now: () => Date;
  /** Signed unsubscribe/open/click links for an email message. */
  emailLinks: (messageId: number) => EmailLinks;
}

/** A message that passed every check, rendered, with its ledger row locked by the sender's transaction. */
export interface Claim {
  message: MessageRow;
  campaign: Campaign;
  step: CampaignStep;
  user: UserRow;
  content: RenderedContent;
  /** Email: the address and display name. */
  recipient: { address: string; name: string | null } | null;
  settings: MessagingSettings;
  links: EmailLinks | null;
}

export type Preparation =
  /** Nothing to do: already finished, or gone. */
  | { kind: "done"; reason: string }
  /** Not now: come back at `until` (quiet hours, not due yet). */
  | { kind: "wait"; until: Date; reason: string; channel: Channel }
  /** Recorded as cancelled / held / skipped / failed; `next` is the series' following step, if it continues. */
  | { kind: "stopped"; status: "cancelled" | "held" | "skipped" | "failed"; reason: string; next: NextDelivery | null }
  | { kind: "send"; claim: Claim };

/** An address we will write to: one mailbox, no display-name or header tricks. */
const EMAIL = /^[^\s@<>()[\]\\,;:"]{1,64}@[^\s@<>()[\]\\,;:"]{1,253}\.[^\s@<>()[\]\\,;:".]{2,63}$/u;

export function emailAddressOf(card: Pick<UserCard, "properties">): { address: string | null; problem: string | null } {
  const raw = card.properties.email;
  if (typeof raw !== "string" || raw.trim() === "") return { address: null, problem: "the user has no email address" };
  const address = raw.trim();
  if (!EMAIL.test(address)) return { address: null, problem: `the email address ${JSON.stringify(address.slice(0, 100))} is not valid` };
  return { address, problem: null };
}

async function resolveUser(trx: Transaction<DB>, message: MessageRow): Promise<UserRow | "duplicate" | null> {
  const user = await trx.selectFrom("users").selectAll().where("id", "=", message.user_id).executeTakeFirst();
  if (user) return user;
  const into = await mergedInto(trx, message.project_id, message.user_id);
  if (into === null) return null;
  // The pipeline moves a merged card's messages too; until it has, this message follows on its own.
  const clash = await trx
    .selectFrom("messages")
    .select("id")
    .where("campaign_id", "=", message.campaign_id)
    .where("step_id", "=", message.step_id)
    .where("user_id", "=", into)
    .where("window_key", "=", message.window_key)
    .executeTakeFirst();
  await trx
    .updateTable("messages")
    .set({ user_id: into, ...(clash ? { window_key: `${message.window_key}~${message.id}` } : {}) })
    .where("id", "=", message.id)
    .execute();
  message.user_id = into;
  if (clash) return "duplicate";
  return (await trx.selectFrom("users").selectAll().where("id", "=", into).executeTakeFirst()) ?? null;
}

async function goalReachedAt(trx: Transaction<DB>, campaign: Campaign, message: MessageRow, userId: number): Promise<Date | null> {
  if (!campaign.goal) return null;
  const seriesStart =
    message.series_id === message.id ? message.created_at : ((await trx.selectFrom("messages").select("created_at").where("id", "=", message.series_id).executeTakeFirst())?.created_at ?? message.created_at);
  const triggerEventId = typeof message.trigger.eventId === "number" ? message.trigger.eventId : -1;
  const events = await trx
    .selectFrom("events")
    .select(["id", "name", "properties", "occurred_at"])
    .where("user_id", "=", userId)
    .where("name", "=", campaign.goal.event)
    .where("occurred_at", ">=", seriesStart)
    .where("id", "<>", triggerEventId)
    .orderBy("occurred_at")
    .limit(100)
    .execute();
  return events.find((e) => isGoalEvent(campaign.goal!, e.name, e.properties))?.occurred_at ?? null;
}

/** Messages of the channel already sent to the user today (the caller holds the user's send lock). */
async function sentToday(trx: Transaction<DB>, message: MessageRow, dayStart: Date): Promise<number> {
  const row = await trx
    .selectFrom("messages")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("user_id", "=", message.user_id)
    .where("channel", "=", message.channel)
    .where("id", "<>", message.id)
    .where("status", "=", "sent")
    .where("sent_at", ">=", dayStart)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * What the pipeline already holds when it sends a message the moment its trigger fires: the user's
 * row (locked), the card, the campaign, the project's settings. The trigger's audience check was
 * made a moment ago in the same transaction, and nothing can have happened since.
 */
export interface FreshSend {
  user: UserRow;
  card: UserCard;
  campaign: Campaign;
  projectSettings: Record<string, unknown>;
}

/** A step's content rendered for the user and the message's trigger. */
function renderFor(step: CampaignStep, card: Pick<UserCard, "userId" | "properties">, trigger: Record<string, unknown>, campaignName: string, unsubscribeUrl: string | null): Promise<RenderedContent> {
  const { name, properties } = trigger as { name?: unknown; properties?: unknown };
  return renderStepContent(
    { channel: step.channel, content: step.content } as Parameters<typeof renderStepContent>[0],
    templateData({
      card,
      event: typeof name === "string" ? { name, properties: (properties as Record<string, unknown>) ?? {} } : null,
      campaignName,
      unsubscribeUrl,
    }),
  );
}

/**
 * The content of a popup or chat step that can go into the inbox the moment its trigger fires,
 * decided before its ledger row exists, so the row is written once, as sent: when the channel has
 * no daily cap to count, it is not quiet hours, the step's condition holds and the template
 * renders. Otherwise null: the message is written queued and `prepareSend` records why it waits or
 * stops, as for any other.
 */
export async function inboxContentNow(fresh: FreshSend, step: CampaignStep, trigger: Record<string, unknown>, now: Date): Promise<RenderedContent | null> {
  const settings = messagingSettingsOf({ settings: fresh.projectSettings });
  if (settings.dailyCaps[step.channel] !== undefined) return null;
  if (quietHoursEnd(now, settings.timeZone, settings.quietHours, step.channel)) return null;
  if (step.condition && !explainCondition(step.condition, fresh.card, now)[0]!.passed) return null;
  try {
    return await renderFor(step, fresh.card, trigger, fresh.campaign.name, null);
  } catch (err) {
    if (err instanceof TemplateRenderError) return null;
    throw err;
  }
}

/** A message's ledger row, and when an earlier attempt handed it to the SMTP server without recording the outcome. */
export type LockedMessage = MessageRow & { handed_over_at: Date | null };

/** Locks a message's ledger row for the caller's transaction; undefined when it does not exist. */
export function lockMessage(trx: Transaction<DB>, projectId: string, messageId: number): Promise<LockedMessage | undefined> {
  return trx
    .selectFrom("messages as m")
    .leftJoin("message_handovers as h", "h.message_id", "m.id")
    .selectAll("m")
    .select("h.handed_over_at")
    .where("m.id", "=", messageId)
    .where("m.project_id", "=", projectId)
    .forUpdate("m")
    .executeTakeFirst();
}

/**
 * Everything that must hold right before a message goes out, checked in the caller's transaction,
 * which has the ledger row locked (`lockMessage`) and keeps it until the send is recorded: the
 * campaign is still active, the audience and the step's condition still hold, the goal was not
 * reached, the address is usable and not unsubscribed or suppressed, quiet hours and daily caps
 * allow it. The user's send lock is taken here and held to the end of the transaction, so caps
 * and unsubscribes are exact under any concurrency.
 */
export async function prepareSend(trx: Transaction<DB>, deps: Pick<DeliveryDeps, "emailLinks">, message: MessageRow & { handed_over_at?: Date | null }, now: Date, fresh?: FreshSend): Promise<Preparation> {
  if (message.status !== "queued" && message.status !== "sending") return { kind: "done", reason: `already ${message.status}` };
  if (message.handed_over_at) {
    // The attempt that handed it over died before recording the server's answer: the server most
    // likely has it, and a second copy is what must not happen.
    const reason = `outcome unknown, not resent: handed to the SMTP server at ${message.handed_over_at.toISOString()} by a worker that stopped before it recorded the reply`;
    await finishUnsent(trx, message, "failed", reason, now);
    const campaign = await getCampaign(trx, message.project_id, message.campaign_id);
    return { kind: "stopped", status: "failed", reason, next: campaign ? await scheduleNextStep(trx, message, campaign, now) : null };
  }
  // A worker of the previous version (rolling deploy) claimed it with a lease that still runs.
  if (message.status === "sending" && message.claimed_until !== null && message.claimed_until > now) {
    return { kind: "wait", until: message.claimed_until, reason: "another worker is sending it", channel: message.channel as Channel };
  }
  if (message.scheduled_for.getTime() > now.getTime() + 1_000) return { kind: "wait", until: message.scheduled_for, reason: "not due yet", channel: message.channel as Channel };

  const campaign = fresh ? { ...fresh.campaign, projectSettings: fresh.projectSettings } : await getCampaign(trx, message.project_id, message.campaign_id);
  const stop = async (status: "cancelled" | "held" | "skipped" | "failed", reason: string, traces = {}, continues = true): Promise<Preparation> => {
    await finishUnsent(trx, message, status, reason, now, traces);
    const next = continues && campaign ? await scheduleNextStep(trx, message, campaign, now) : null;
    return { kind: "stopped", status, reason, next };
  };
  if (!campaign) return stop("cancelled", "the campaign was deleted", {}, false);
  if (campaign.status !== "active") return stop("cancelled", `the campaign is ${campaign.status}`, {}, false);
  const step = campaign.steps.find((s) => s.id === message.step_id);
  if (!step) return stop("cancelled", "the step was removed from the campaign", {}, false);

  const settings = messagingSettingsOf({ settings: campaign.projectSettings });
  const capped = settings.dailyCaps[step.channel] !== undefined;
  // Taken before the user is read, so the unsubscribe state and the caps' count are current.
  if (step.channel === "email" || capped) await lockUserSends(trx, fresh?.user.id ?? message.user_id);

  const user = fresh?.user ?? (await resolveUser(trx, message));
  if (user === "duplicate") return stop("cancelled", "the user's cards merged and the other card already has this message", {}, false);
  if (!user) return stop("cancelled", "the user no longer exists", {}, false);
  // The whole card (statistics, segments…) only when a condition needs it; templates read properties.
  const card: Pick<UserCard, "userId" | "properties"> & Partial<UserCard> =
    fresh?.card ?? (campaign.audience || step.condition ? await loadCard(trx, user) : { userId: user.user_id, properties: user.properties });

  if (campaign.audience && !fresh) {
    const audience = explainCondition(campaign.audience, card as UserCard, now);
    if (!audience[0]!.passed) return stop("cancelled", "the audience condition no longer holds", { audience }, false);
  }
  const goalAt = fresh ? null : await goalReachedAt(trx, campaign, message, user.id);
  if (goalAt) return stop("cancelled", `the goal ${JSON.stringify(campaign.goal!.event)} was reached at ${goalAt.toISOString()}`, {}, false);
  if (step.condition) {
    const stepTrace = explainCondition(step.condition, card as UserCard, now);
    if (!stepTrace[0]!.passed) return stop("skipped", "the step's condition does not hold", { step: stepTrace });
  }

  let recipient: Claim["recipient"] = null;
  if (message.channel === "email") {
    const { address, problem } = emailAddressOf(card);
    if (!address) return stop("skipped", problem!);
    if (user.email_unsubscribed_at !== null) return stop("skipped", `the user unsubscribed from email on ${user.email_unsubscribed_at.toISOString()}`);
    const suppressed = await trx.selectFrom("email_suppressions").select(["reason", "created_at"]).where("project_id", "=", message.project_id).where("address", "=", address.toLowerCase()).executeTakeFirst();
    if (suppressed) return stop("skipped", `the address is suppressed (${suppressed.reason.replace("_", " ")} on ${suppressed.created_at.toISOString()})`);
    const name = typeof card.properties.name === "string" ? card.properties.name : null;
    recipient = { address, name };
  }

  const quietEnd = quietHoursEnd(now, settings.timeZone, settings.quietHours, step.channel);
  if (quietEnd) {
    const reason = `quiet hours ${settings.quietHours!.start}–${settings.quietHours!.end} (${settings.timeZone}); sending at ${quietEnd.toISOString()}`;
    await trx.updateTable("messages").set({ status: "queued", scheduled_for: quietEnd, updated_at: sql`now()` }).where("id", "=", message.id).execute();
    await recordDecision(trx, { projectId: message.project_id, campaignId: campaign.id, userId: user.id, stage: "send", outcome: "delayed", reason, stepId: step.id, messageId: message.id, at: now });
    return { kind: "wait", until: quietEnd, reason, channel: step.channel };
  }
  if (capped) {
    const cap = capDecision(settings.dailyCaps, step.channel, await sentToday(trx, message, startOfLocalDay(now, settings.timeZone)));
    if (!cap.allowed) return stop("held", cap.reason);
  }

  const links = message.channel === "email" ? deps.emailLinks(message.id) : null;
  let content: RenderedContent;
  try {
    content = await renderFor(step, card, message.trigger, campaign.name, links?.unsubscribe ?? null);
  } catch (err) {
    if (err instanceof TemplateRenderError) return stop("failed", err.message);
    throw err;
  }
  message.user_id = user.id;
  return { kind: "send", claim: { message, campaign, step, user, content, recipient, settings, links } };
}
