import { attributeConversion, goalRevenue, isGoalEvent, type TriggerOccurrence } from "@nurture/core";
import type { DB } from "@nurture/db";
import type { Transaction } from "kysely";
import type { Campaign } from "./campaigns.repository";

const DAY_MS = 86_400_000;

/**
 * Credits goal events to campaigns: each goal event converts the latest message of a campaign the
 * user received within the goal window before it. One credit per (campaign, event) — the unique key
 * keeps a re-processed event from counting twice — and the event's revenue is summed per campaign.
 */
export async function attributeGoals(
  trx: Transaction<DB>,
  projectId: string,
  userId: number,
  occurrences: readonly TriggerOccurrence[],
  campaigns: readonly Campaign[],
): Promise<number> {
  const stored = occurrences.filter((o) => o.eventId !== undefined);
  if (stored.length === 0 || campaigns.length === 0) return 0;
  const maxWindow = Math.max(...campaigns.map((c) => c.goal!.withinDays));
  const earliest = new Date(Math.min(...stored.map((o) => o.occurredAt.getTime())) - maxWindow * DAY_MS);
  const sent = await trx
    .selectFrom("messages")
    .select(["id", "campaign_id", "step_id", "sent_at"])
    .where("user_id", "=", userId)
    .where("campaign_id", "in", campaigns.map((c) => c.id))
    .where("sent_at", ">=", earliest)
    .execute();
  const credits: { campaign_id: string; message_id: number; step_id: string; revenue: number; event_id: number; occurred_at: Date }[] = [];
  for (const campaign of campaigns) {
    const goal = campaign.goal!;
    const candidates = sent.filter((m) => m.campaign_id === campaign.id).map((m) => ({ messageId: m.id, sentAt: m.sent_at!, stepId: m.step_id }));
    if (candidates.length === 0) continue;
    for (const o of stored) {
      if (!isGoalEvent(goal, o.name, o.properties)) continue;
      const messageId = attributeConversion(goal, candidates, o.occurredAt);
      if (messageId === null) continue;
      const stepId = candidates.find((c) => c.messageId === messageId)!.stepId;
      credits.push({ campaign_id: campaign.id, message_id: messageId, step_id: stepId, revenue: goalRevenue(o.properties, goal.revenueProperty), event_id: o.eventId!, occurred_at: o.occurredAt });
    }
  }
  if (credits.length === 0) return 0;
  const inserted = await trx
    .insertInto("message_conversions")
    .values(credits.map((c) => ({ ...c, project_id: projectId, user_id: userId })))
    .onConflict((oc) => oc.constraint("message_conversions_once").doNothing())
    .returning(["message_id", "occurred_at"])
    .execute();
  for (const row of inserted) {
    await trx
      .updateTable("messages")
      .set((eb) => ({ converted_at: eb.fn.coalesce("converted_at", eb.val(row.occurred_at)), updated_at: new Date() }))
      .where("id", "=", row.message_id)
      .execute();
  }
  return inserted.length;
}
