import { eventMatchesFilter } from "../conditions";
import type { Properties } from "../property-ops";
import type { ScoringRule } from "./scoring-rule";
import { expiryInstant } from "./score-expiry";

export interface ScoringEvent {
  id: number;
  name: string;
  properties: Properties;
  occurredAt: Date;
}

/** What a user has already been awarded, as far as limits care. */
export interface AwardHistory {
  /** Awards so far per rule id (expired awards included). */
  counts: Record<string, number>;
  /** Per rule id, the UTC days ("YYYY-MM-DD") that already have an award (only once_per_day rules need it). */
  days: Record<string, readonly string[]>;
}

export interface Award {
  ruleId: string;
  eventId: number;
  eventName: string;
  points: number;
  /** The event's time: the instant the points count from. */
  at: Date;
  expiresAt: Date | null;
}

export const emptyAwardHistory = (): AwardHistory => ({ counts: {}, days: {} });

/** "YYYY-MM-DD" of the UTC calendar day holding `at`. */
export const utcDay = (at: Date): string => at.toISOString().slice(0, 10);

/**
 * Applies the rules to events, in the order given (the pipeline passes them in time order) and, for
 * one event, in rule order. An award is made when the event has the rule's name, its properties pass
 * every filter, and the rule's limit (counted over `history` plus the awards made here) allows it.
 * Pure: the same rules, events and history always give the same awards — the backend's set-based
 * recompute implements exactly this and is tested against it.
 *
 * `alreadyAwarded` ("ruleId:eventId") names pairs that scored before (they are in `history` too):
 * they are never awarded again, which is what makes re-processing an event harmless.
 */
export function awardPoints(rules: readonly ScoringRule[], events: readonly ScoringEvent[], history: AwardHistory, alreadyAwarded: ReadonlySet<string> = new Set()): Award[] {
  const byEvent = new Map<string, ScoringRule[]>();
  for (const rule of rules) {
    const list = byEvent.get(rule.event);
    if (list) list.push(rule);
    else byEvent.set(rule.event, [rule]);
  }
  const counts = new Map<string, number>(Object.entries(history.counts));
  const days = new Map<string, Set<string>>();
  const daysOf = (ruleId: string) => {
    let set = days.get(ruleId);
    if (!set) {
      set = new Set(history.days[ruleId] ?? []);
      days.set(ruleId, set);
    }
    return set;
  };

  const awards: Award[] = [];
  for (const event of events) {
    const candidates = byEvent.get(event.name);
    if (!candidates) continue;
    for (const rule of candidates) {
      if (alreadyAwarded.has(`${rule.id}:${event.id}`)) continue;
      if (!eventMatchesFilter(event.properties, rule.where)) continue;
      const count = counts.get(rule.id) ?? 0;
      const day = utcDay(event.occurredAt);
      const limit = rule.limit;
      if (limit.type === "once_per_user" && count >= 1) continue;
      if (limit.type === "max_times" && count >= limit.times) continue;
      if (limit.type === "once_per_day" && daysOf(rule.id).has(day)) continue;
      counts.set(rule.id, count + 1);
      if (limit.type === "once_per_day") daysOf(rule.id).add(day);
      awards.push({
        ruleId: rule.id,
        eventId: event.id,
        eventName: event.name,
        points: rule.points,
        at: event.occurredAt,
        expiresAt: expiryInstant(event.occurredAt, rule.expiresAfterDays),
      });
    }
  }
  return awards;
}
