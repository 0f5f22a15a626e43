import { eventMatchesFilter } from "../conditions";
import type { Properties } from "../property-ops";
import type { CampaignTrigger } from "./campaign.schema";

/** Something that happened to a user in one pipeline run: a tracked event or a system event. */
export interface TriggerOccurrence {
  name: string;
  properties: Properties;
  occurredAt: Date;
  /** events.id for stored events; absent for system events emitted in the same run. */
  eventId?: number;
}

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

function scoreCrossed(trigger: Extract<CampaignTrigger, { type: "score_crossed" }>, occurrence: TriggerOccurrence): boolean {
  const p = occurrence.properties;
  if (occurrence.name === "$score_crossed") {
    return num(p.threshold) === trigger.threshold && p.direction === trigger.direction;
  }
  if (occurrence.name === "$score_changed") {
    const score = num(p.score);
    const delta = num(p.delta);
    if (score === null || delta === null) return false;
    const before = score - delta;
    return trigger.direction === "up" ? before < trigger.threshold && score >= trigger.threshold : before >= trigger.threshold && score < trigger.threshold;
  }
  return false;
}

/** Whether one occurrence fires the trigger. */
export function triggerMatches(trigger: CampaignTrigger, occurrence: TriggerOccurrence): boolean {
  switch (trigger.type) {
    case "event":
      return occurrence.name === trigger.event && eventMatchesFilter(occurrence.properties, trigger.where ?? null);
    case "segment_entered":
      return occurrence.name === "$segment_entered" && occurrence.properties.segmentId === trigger.segmentId;
    case "segment_exited":
      return occurrence.name === "$segment_exited" && occurrence.properties.segmentId === trigger.segmentId;
    case "lifecycle_changed":
      return (
        occurrence.name === "$lifecycle_changed" &&
        (trigger.from === undefined || occurrence.properties.from === trigger.from) &&
        (trigger.to === undefined || occurrence.properties.to === trigger.to)
      );
    case "score_crossed":
      return scoreCrossed(trigger, occurrence);
  }
}

/**
 * The occurrence that fires the campaign in this run: the first one in time order. A campaign fires
 * at most once per run, so a burst of matching events is one trigger.
 */
export function firstMatchingOccurrence(trigger: CampaignTrigger, occurrences: readonly TriggerOccurrence[]): TriggerOccurrence | null {
  for (const occurrence of occurrences) if (triggerMatches(trigger, occurrence)) return occurrence;
  return null;
}

/** Event names a trigger can react to, so the backend can skip campaigns cheaply. */
export function triggerEventNames(trigger: CampaignTrigger): string[] {
  switch (trigger.type) {
    case "event":
      return [trigger.event];
    case "segment_entered":
      return ["$segment_entered"];
    case "segment_exited":
      return ["$segment_exited"];
    case "lifecycle_changed":
      return ["$lifecycle_changed"];
    case "score_crossed":
      return ["$score_crossed", "$score_changed"];
  }
}

export function describeTrigger(trigger: CampaignTrigger): string {
  switch (trigger.type) {
    case "event":
      return `event ${JSON.stringify(trigger.event)}${trigger.where?.length ? " (with property filters)" : ""}`;
    case "segment_entered":
      return `entered segment ${trigger.segmentId}`;
    case "segment_exited":
      return `left segment ${trigger.segmentId}`;
    case "lifecycle_changed":
      return `lifecycle stage changed${trigger.from ? ` from ${trigger.from}` : ""}${trigger.to ? ` to ${trigger.to}` : ""}`;
    case "score_crossed":
      return `score crossed ${trigger.threshold} going ${trigger.direction}`;
  }
}
