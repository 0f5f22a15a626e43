import { eventMatchesFilter } from "../conditions";
import type { Properties } from "../property-ops";
import type { CampaignGoal } from "./campaign.schema";

const DAY_MS = 86_400_000;

export interface SentMessage {
  messageId: number;
  sentAt: Date;
}

/** Whether a goal event happening at `goalAt` counts for a message sent at `sentAt`. */
export function withinConversionWindow(goal: Pick<CampaignGoal, "withinDays">, sentAt: Date, goalAt: Date): boolean {
  const delta = goalAt.getTime() - sentAt.getTime();
  return delta >= 0 && delta <= goal.withinDays * DAY_MS;
}

/**
 * The message a goal event is credited to within one campaign: the most recent one sent before the
 * goal and within the window (last touch), or null.
 */
export function attributeConversion(goal: Pick<CampaignGoal, "withinDays">, sent: readonly SentMessage[], goalAt: Date): number | null {
  let best: SentMessage | null = null;
  for (const m of sent) {
    if (!withinConversionWindow(goal, m.sentAt, goalAt)) continue;
    if (!best || m.sentAt > best.sentAt || (m.sentAt.getTime() === best.sentAt.getTime() && m.messageId > best.messageId)) best = m;
  }
  return best?.messageId ?? null;
}

export function isGoalEvent(goal: Pick<CampaignGoal, "event" | "where">, name: string, properties: Properties): boolean {
  return name === goal.event && eventMatchesFilter(properties, goal.where ?? null);
}

/** The revenue a goal event carries: a finite number, or a numeric string ("19.90"); otherwise 0. */
export function goalRevenue(properties: Properties, revenueProperty: string): number {
  const value = Object.hasOwn(properties, revenueProperty) ? properties[revenueProperty] : undefined;
  const n = typeof value === "number" ? value : typeof value === "string" && value.trim() !== "" ? Number(value) : NaN;
  return Number.isFinite(n) ? n : 0;
}
