/**
 * Keeping counters as events arrive (the pipeline) and building them from a list of events (backfill
 * checks, tests). A counter's daily buckets are UTC days; see condition.types for the window rule.
 */
import type { Properties } from "../property-ops";
import type { EventCounter } from "../user-card";
import { epochDay, dayKeyOfEpochDay, utcDayKey } from "./condition-values";
import type { CounterDefinition } from "./counter-key";
import { eventMatchesFilter } from "./leaf-checks";

export interface CountableEvent {
  name: string;
  properties: Properties;
  occurredAt: Date;
}

export const emptyCounter = (): EventCounter => ({ total: 0, firstAt: null, lastAt: null, daily: {} });

export function counterCounts(definition: Pick<CounterDefinition, "event" | "where">, event: CountableEvent): boolean {
  return event.name === definition.event && eventMatchesFilter(event.properties, definition.where);
}

/** Adds one occurrence at `at` to the counter (mutating it) and returns it. */
export function addToCounter(counter: EventCounter, at: Date): EventCounter {
  counter.total += 1;
  if (counter.firstAt === null || at < counter.firstAt) counter.firstAt = at;
  if (counter.lastAt === null || at > counter.lastAt) counter.lastAt = at;
  const day = utcDayKey(at);
  counter.daily[day] = (counter.daily[day] ?? 0) + 1;
  return counter;
}

/**
 * Drops daily buckets no window of `keepDays` can reach any more at `now` or later (day ≤ today −
 * keepDays); future-dated buckets stay. Totals and first/last times are kept.
 */
export function pruneCounter(counter: EventCounter, keepDays: number, now: Date): void {
  const oldest = dayKeyOfEpochDay(epochDay(now.getTime()) - keepDays);
  for (const key of Object.keys(counter.daily)) if (key <= oldest) delete counter.daily[key];
}

/** The counter as it would be after counting every matching event in `events`. */
export function buildCounter(definition: Pick<CounterDefinition, "event" | "where">, events: Iterable<CountableEvent>): EventCounter {
  const counter = emptyCounter();
  for (const event of events) if (counterCounts(definition, event)) addToCounter(counter, event.occurredAt);
  return counter;
}
