/**
 * Counters: per user, the number of times an event happened (optionally only those matching a filter),
 * with first/last time and a count per UTC day. Conditions that need more than the all-time per-event
 * statistics (a filter, or a "within the last N days" window) read a counter; the backend keeps each
 * counter some condition needs up to date at ingestion and backfills it from raw events when a new
 * condition first asks for it.
 */
import type { EventPropertyFilter } from "./condition.types";

export interface CounterDefinition {
  /** Canonical key (see counterKey): how the card and the counter tables name this counter. */
  key: string;
  event: string;
  /** Every filter must hold for an event to count; null counts every occurrence. */
  where: EventPropertyFilter[] | null;
  /** The longest window (days) any condition asks of it: daily buckets older than this may be dropped. 0 = totals only. */
  windowDays: number;
}

/** JSON with object keys sorted, so equal values always serialise alike. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** 64-bit string hash (two 32-bit lanes), hex; the core has no crypto and needs none here. */
function hash64(text: string): string {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2_654_435_761);
    h2 = Math.imul(h2 ^ c, 1_597_334_677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2_246_822_507) ^ Math.imul(h2 ^ (h2 >>> 13), 3_266_489_909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2_246_822_507) ^ Math.imul(h1 ^ (h1 >>> 13), 3_266_489_909);
  return (h1 >>> 0).toString(16).padStart(8, "0") + (h2 >>> 0).toString(16).padStart(8, "0");
}

/** Filters in a canonical order without duplicates (and `in` lists sorted), so equal filters share a counter. */
export function normalizeFilter(where: readonly EventPropertyFilter[]): EventPropertyFilter[] {
  const unique = new Map<string, EventPropertyFilter>();
  for (const filter of where) {
    const normalized =
      filter.op === "in"
        ? { ...filter, values: [...new Map(filter.values.map((v) => [canonicalJson(v), v])).entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, v]) => v) }
        : filter;
    unique.set(canonicalJson(normalized), normalized);
  }
  return [...unique.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, f]) => f);
}

/**
 * "e:<event>" for every occurrence of the event, "f:<16 hex hash of the normalised filter>:<event>"
 * for occurrences matching a filter. The prefix keeps the two forms from ever colliding.
 */
export function counterKey(event: string, where?: readonly EventPropertyFilter[] | null): string {
  if (!where || where.length === 0) return `e:${event}`;
  return `f:${hash64(canonicalJson(normalizeFilter(where)))}:${event}`;
}
