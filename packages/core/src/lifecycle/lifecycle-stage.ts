/**
 * Lifecycle stages (new → novice → engaged → power), expressed as segment conditions so the in-memory
 * evaluator, the SQL compiler and the next-change computation all come for free and agree.
 */
import type { Condition } from "../conditions/condition.types";
import { evaluateConditionTimed } from "../conditions/condition-evaluator";
import type { LifecycleStage, UserCard } from "../user-card";
import type { LifecycleSettings } from "./lifecycle-settings";

const ALWAYS: Condition = { and: [] };
const NEVER: Condition = { or: [] };

export interface LifecycleConditions {
  /** Which users have a stage at all: the identified ones. */
  eligible: Condition;
  /** Checked in this order; the first that holds names the stage, otherwise "novice". */
  power: Condition;
  engaged: Condition;
  new: Condition;
}

export function lifecycleConditions(settings: LifecycleSettings): LifecycleConditions {
  const { coreEvent, activityEvent, advancedEvent } = settings;
  const eligible: Condition = { identified: true };
  if (coreEvent === null) return { eligible, power: NEVER, engaged: NEVER, new: ALWAYS };
  const recent = { op: "within_last_days" as const, days: settings.activeWithinDays };
  const active: Condition = activityEvent === null ? { lastSeen: recent } : { event: activityEvent, last: recent };
  const engagedCore: Condition[] = [
    active,
    { event: coreEvent, last: { op: "within_last_days", days: settings.coreWithinDays } },
    { event: coreEvent, count: { op: "gt", value: settings.coreCountAbove } },
  ];
  const power: Condition =
    advancedEvent === null
      ? NEVER
      : {
          and: [
            ...engagedCore,
            { event: advancedEvent, happened: true },
            ...(settings.powerMinScore === null ? [] : [{ score: { op: "gte" as const, value: settings.powerMinScore } }]),
          ],
        };
  const engaged: Condition = { and: [...engagedCore, ...(advancedEvent === null ? [] : [{ event: advancedEvent, happened: false }])] };
  return { eligible, power, engaged, new: { event: coreEvent, happened: false } };
}

const conditionsCache = new WeakMap<LifecycleSettings, LifecycleConditions>();
function cachedConditions(settings: LifecycleSettings): LifecycleConditions {
  let c = conditionsCache.get(settings);
  if (!c) {
    c = lifecycleConditions(settings);
    conditionsCache.set(settings, c);
  }
  return c;
}

/**
 * The card's stage at `now` (null for anonymous visitors) and the earliest instant it can change with
 * no new events (activity and core-action recency age out).
 */
export function computeLifecycleStage(card: UserCard, settings: LifecycleSettings, now: Date): { stage: LifecycleStage | null; nextChangeAt: Date | null } {
  const conditions = cachedConditions(settings);
  if (!evaluateConditionTimed(conditions.eligible, card, now).matches) return { stage: null, nextChangeAt: null };
  let next: Date | null = null;
  const consider = (at: Date | null) => {
    if (at && (!next || at < next)) next = at;
  };
  for (const stage of ["power", "engaged", "new"] as const) {
    const answer = evaluateConditionTimed(conditions[stage], card, now);
    consider(answer.nextChangeAt);
    if (answer.matches) return { stage, nextChangeAt: next };
  }
  return { stage: "novice", nextChangeAt: next };
}
