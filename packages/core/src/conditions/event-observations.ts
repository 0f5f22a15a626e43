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

interface Buckets {
  total: number;
  days: number[];
  counts: number[];
}
const bucketCache = new WeakMap<EventCounter, Buckets>();

/**
 * The counter's non-empty days as sorted epoch days, parsed once per counter state. Counters change
 * only through addToCounter (which always raises `total`) and pruning (which drops days no window
 * reaches, harmless to keep), so `total` tells whether the parse is current.
 */
function buckets(counter: EventCounter): Buckets {
  const cached = bucketCache.get(counter);
  if (cached && cached.total === counter.total) return cached;
  const keys = Object.keys(counter.daily).sort();
  const fresh: Buckets = { total: counter.total, days: [], counts: [] };
  for (const key of keys) {
    const n = counter.daily[key]!;
    if (n === 0) continue;
    fresh.days.push(epochDayOfKey(key));
    fresh.counts.push(n);
  }
  bucketCache.set(counter, fresh);
  return fresh;
}

/**
 * The first UTC midnight after `nowMs` at which the window's count makes `test` answer differently:
 * a day leaves the window at midnight of day + N, a future-dated day enters at its own midnight.
 */
export function windowedNextChange(counter: EventCounter | undefined, days: number, nowMs: number, test: (count: number) => boolean): number | null {
  if (!counter) return null;
  const today = epochDay(nowMs);
  const { days: bucketDays, counts } = buckets(counter);
  let first = 0;
  while (first < bucketDays.length && bucketDays[first]! <= today - days) first++;
  let count = 0;
  let future = first;
  while (future < bucketDays.length && bucketDays[future]! <= today) count += counts[future++]!;
  const current = test(count);
  if (future === bucketDays.length) {
    // Common case: nothing dated ahead, so the window only loses days, in day order.
    for (let i = first; i < future; i++) {
      count -= counts[i]!;
      const day = bucketDays[i]! + days;
      if (i + 1 < future && bucketDays[i + 1]! + days === day) continue;
      if (test(count) !== current) return day * DAY_MS;
    }
    return null;
  }
  // Flat (day, delta) pairs: a future-dated day enters at its midnight and leaves N days later.
  const changes: number[] = [];
  for (let i = first; i < bucketDays.length; i++) {
    if (i >= future) changes.push(bucketDays[i]!, counts[i]!);
    changes.push(bucketDays[i]! + days, -counts[i]!);
  }
  const order: number[] = [];
  for (let i = 0; i < changes.length; i += 2) order.push(i);
  order.sort((a, b) => changes[a]! - changes[b]!);
  for (let j = 0; j < order.length; j++) {
    const day = changes[order[j]!]!;
    count += changes[order[j]! + 1]!;
    // Every bucket moving at the same midnight moves together.
    if (j + 1 < order.length && changes[order[j + 1]!] === day) continue;
    if (test(count) !== current) return day * DAY_MS;
  }
  return null;
}
