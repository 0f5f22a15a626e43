import { randomUUID } from "node:crypto";
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

/** How long a worker holds a message it is sending; longer than any SMTP or webhook timeout. */
export const CLAIM_LEASE_MS = 120_000;

export interface DeliveryDeps {
  db: Db;
  now: () => Date;
  /** Signed unsubscribe/open/click links for an email message. */
  emailLinks: (messageId: number) => EmailLinks;
}

export interface Claim {
  token: string;
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
  /** Not now: come back at `until` (another worker's lease, quiet hours, not due yet). */
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

async function sentToday(trx: Transaction<DB>, message: MessageRow, dayStart: Date): Promise<number> {
  // Serializes cap checks for one user across workers: counted and claimed in one step.
  await sql`SELECT pg_advisory_xact_lock(hashtextextended(${`nurture-caps:${message.user_id}`}, 0))`.execute(trx);
  const row = await trx
    .selectFrom("messages")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("user_id", "=", message.user_id)
    .where("channel", "=", message.channel)
    .where("id", "<>", message.id)
    .where((eb) => eb.or([eb("status", "=", "sending"), eb.and([eb("status", "=", "sent"), eb("sent_at", ">=", dayStart)])]))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * Everything that must hold right before a message goes out, checked and claimed in one
 * transaction with the ledger row locked: the campaign is still active, the audience and the step's
 * condition still hold, the goal was not reached, the address is usable, quiet hours and daily caps
 * allow it. Then the row moves to 'sending' under this worker's claim; only the claim holder may
 * complete it, and another worker takes over only after the lease ran out.
 */
export async function prepareDelivery(deps: DeliveryDeps, projectId: string, messageId: number): Promise<Preparation> {
  return deps.db.transaction().execute(async (trx): Promise<Preparation> => {
    const now = deps.now();
    const message = await trx.selectFrom("messages").selectAll().where("id", "=", messageId).where("project_id", "=", projectId).forUpdate().executeTakeFirst();
    if (!message) return { kind: "done", reason: "message not found" };
    if (message.status !== "queued" && message.status !== "sending") return { kind: "done", reason: `already ${message.status}` };
    if (message.status === "sending" && message.claimed_until !== null && message.claimed_until > now) {
      return { kind: "wait", until: message.claimed_until, reason: "another worker is sending it", channel: message.channel as Channel };
    }
    if (message.status === "queued" && message.scheduled_for.getTime() > now.getTime() + 1_000) {
      return { kind: "wait", until: message.scheduled_for, reason: "not due yet", channel: message.channel as Channel };
    }

    const campaign = await getCampaign(trx, projectId, message.campaign_id);
    const stop = async (status: "cancelled" | "held" | "skipped" | "failed", reason: string, traces = {}, continues = true): Promise<Preparation> => {
      await finishUnsent(trx, message, status, reason, now, traces);
      const next = continues && campaign ? await scheduleNextStep(trx, message, campaign, now) : null;
      return { kind: "stopped", status, reason, next };
    };
    if (!campaign) return stop("cancelled", "the campaign was deleted", {}, false);
    if (campaign.status !== "active") return stop("cancelled", `the campaign is ${campaign.status}`, {}, false);
    const step = campaign.steps.find((s) => s.id === message.step_id);
    if (!step) return stop("cancelled", "the step was removed from the campaign", {}, false);

    const user = await resolveUser(trx, message);
    if (user === "duplicate") return stop("cancelled", "the user's cards merged and the other card already has this message", {}, false);
    if (!user) return stop("cancelled", "the user no longer exists", {}, false);
    // The whole card (statistics, segments…) only when a condition needs it; templates read properties.
    const card: Pick<UserCard, "userId" | "properties"> & Partial<UserCard> =
      campaign.audience || step.condition ? await loadCard(trx, user) : { userId: user.user_id, properties: user.properties };

    if (campaign.audience) {
      const audience = explainCondition(campaign.audience, card as UserCard, now);
      if (!audience[0]!.passed) return stop("cancelled", "the audience condition no longer holds", { audience }, false);
    }
    const goalAt = await goalReachedAt(trx, campaign, message, user.id);
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
      const suppressed = await trx.selectFrom("email_suppressions").select(["reason", "created_at"]).where("project_id", "=", projectId).where("address", "=", address.toLowerCase()).executeTakeFirst();
      if (suppressed) return stop("skipped", `the address is suppressed (${suppressed.reason.replace("_", " ")} on ${suppressed.created_at.toISOString()})`);
      const name = typeof card.properties.name === "string" ? card.properties.name : null;
      recipient = { address, name };
    }

    const settings = messagingSettingsOf({ settings: campaign.projectSettings });
    const quietEnd = quietHoursEnd(now, settings.timeZone, settings.quietHours, step.channel);
    if (quietEnd) {
      const reason = `quiet hours ${settings.quietHours!.start}–${settings.quietHours!.end} (${settings.timeZone}); sending at ${quietEnd.toISOString()}`;
      await trx.updateTable("messages").set({ status: "queued", scheduled_for: quietEnd, claim_token: null, claimed_until: null, updated_at: sql`now()` }).where("id", "=", message.id).execute();
      await recordDecision(trx, { projectId, campaignId: campaign.id, userId: user.id, stage: "send", outcome: "delayed", reason, stepId: step.id, messageId: message.id, at: now });
      return { kind: "wait", until: quietEnd, reason, channel: step.channel };
    }
    if (settings.dailyCaps[step.channel] !== undefined) {
      const cap = capDecision(settings.dailyCaps, step.channel, await sentToday(trx, message, startOfLocalDay(now, settings.timeZone)));
      if (!cap.allowed) return stop("held", cap.reason);
    }

    const links = message.channel === "email" ? deps.emailLinks(message.id) : null;
    const trigger = message.trigger as { name?: unknown; properties?: unknown };
    let content: RenderedContent;
    try {
      content = await renderStepContent(
        { channel: step.channel, content: step.content } as Parameters<typeof renderStepContent>[0],
        templateData({
          card,
          event: typeof trigger.name === "string" ? { name: trigger.name, properties: (trigger.properties as Record<string, unknown>) ?? {} } : null,
          campaignName: campaign.name,
          unsubscribeUrl: links?.unsubscribe ?? null,
        }),
      );
    } catch (err) {
      if (err instanceof TemplateRenderError) return stop("failed", err.message);
      throw err;
    }

    const token = randomUUID();
    const claimed = await trx
      .updateTable("messages")
      .set({
        status: "sending",
        claim_token: token,
        claimed_until: new Date(now.getTime() + CLAIM_LEASE_MS),
        attempts: sql`attempts + 1`,
        recipient: recipient?.address ?? null,
        content: JSON.stringify(content),
        user_id: user.id,
        updated_at: sql`now()`,
      })
      .where("id", "=", message.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    return { kind: "send", claim: { token, message: claimed, campaign, step, user, content, recipient, settings, links } };
  });
}
