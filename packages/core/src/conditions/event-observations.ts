/**
 * What an event leaf reads from the card: all-time statistics per event name, or a counter when the
 * leaf filters events or counts within a window. Shared by the evaluator and the explainer.
 */
import type { EventCounter, UserCard } from "../user-card";
import type { EventPropertyFilter } from "./condition.types";
import { DAY_MS, epochDay, epochDayOfKey, sumDailyWithin, windowBounds } from "./condition-values";
import { counterKey } from "./counter-key";

export interface EventSource {
  /** The counter key, or null when the all-time per-event statistics answer. */
  key: string | null;
  total(card: UserCard): number;
  firstAt(card: UserCard): number | null;
  lastAt(card: UserCard): number | null;
}

export function eventSource(event: string, where: EventPropertyFilter[] | undefined, windowed: boolean): EventSource {
  if (!where && !windowed) {
    return {
      key: null,
      total: (card) => card.eventStats[event]?.count ?? 0,
      firstAt: (card) => card.eventStats[event]?.firstAt.getTime() ?? null,
      lastAt: (card) => card.eventStats[event]?.lastAt.getTime() ?? null,
    };
  }
  const key = counterKey(event, where);
  return {
    key,
    total: (card) => card.counters[key]?.total ?? 0,
    firstAt: (card) => card.counters[key]?.firstAt?.getTime() ?? null,
    lastAt: (card) => card.counters[key]?.lastAt?.getTime() ?? null,
  };
}

/** A window's count at `nowMs`; the day-key bounds are remembered for the last instant asked. */
export function windowedCounter(key: string, days: number) {
  let memoNow = Number.NaN;
  let bounds = { low: "", high: "" };
  return (card: UserCard, nowMs: number): number => {
    const counter = card.counters[key];
    if (!counter) return 0;
    if (nowMs !== memoNow) {
      bounds = windowBounds(nowMs, days);
      memoNow = nowMs;
    }
    return sumDailyWithin(counter.daily, bounds.low, bounds.high);
  };
}

/**
 * The first UTC midnight after `nowMs` at which the window's count makes `test` answer differently:
 * a day leaves the window at midnight of day + N, a future-dated day enters at its own midnight.
 */
export function windowedNextChange(counter: EventCounter | undefined, days: number, nowMs: number, test: (count: number) => boolean): number | null {
  if (!counter) return null;
  const today = epochDay(nowMs);
  const deltas = new Map<number, number>();
  const add = (day: number, delta: number) => deltas.set(day, (deltas.get(day) ?? 0) + delta);
  let count = 0;
  for (const key in counter.daily) {
    const n = counter.daily[key]!;
    if (n === 0) continue;
    const day = epochDayOfKey(key);
    if (day > today) {
      add(day, n);
      add(day + days, -n);
    } else if (day > today - days) {
      count += n;
      add(day + days, -n);
    }
  }
  const current = test(count);
  for (const day of [...deltas.keys()].sort((a, b) => a - b)) {
    count += deltas.get(day)!;
    if (test(count) !== current) return day * DAY_MS;
  }
  return null;
}
