/**
 * Comparisons compiled once per condition into closures: the in-memory evaluator runs on every event
 * for every segment, so per-evaluation work is kept to reading the card and comparing.
 */
import type { Properties } from "../property-ops";
import type { DateComparison, EventPropertyFilter, NumberComparison, PropertyCondition, TextComparison } from "./condition.types";
import { containsValue, DAY_MS, isDefined, parseIsoDate, propertyInstant, readPath, scalarEquals, splitPropertyPath } from "./condition-values";

export function compileNumberComparison(cmp: NumberComparison): (x: number) => boolean {
  switch (cmp.op) {
    case "eq":
      return (x) => x === cmp.value;
    case "neq":
      return (x) => x !== cmp.value;
    case "gt":
      return (x) => x > cmp.value;
    case "gte":
      return (x) => x >= cmp.value;
    case "lt":
      return (x) => x < cmp.value;
    case "lte":
      return (x) => x <= cmp.value;
    case "between":
      return (x) => x >= cmp.from && x <= cmp.to;
  }
}

export function compileTextComparison(cmp: TextComparison): (x: string | null) => boolean {
  switch (cmp.op) {
    case "eq":
      return (x) => x === cmp.value;
    case "neq":
      return (x) => x !== cmp.value;
    case "in": {
      const values = new Set(cmp.values);
      return (x) => x !== null && values.has(x);
    }
    case "defined":
      return (x) => x !== null;
    case "not_defined":
      return (x) => x === null;
  }
}

/** A check on an instant (epoch ms, null when there is none) that knows when its answer changes. */
export interface InstantCheck {
  test(t: number | null, nowMs: number): boolean;
  /** The earliest instant after `nowMs` at which test() flips with `t` unchanged, or null. */
  next(t: number | null, nowMs: number): number | null;
  relative: boolean;
}

const fixed = (test: (t: number) => boolean): InstantCheck => ({
  test: (t) => t !== null && test(t),
  next: () => null,
  relative: false,
});

export function compileDateComparison(cmp: DateComparison): InstantCheck {
  switch (cmp.op) {
    case "gt":
    case "gte":
    case "lt":
    case "lte":
      return compileAbsolute(cmp.op, parseIsoDate(cmp.value)!);
    case "between": {
      const from = parseIsoDate(cmp.from)!;
      const to = parseIsoDate(cmp.to)!;
      return fixed((t) => t >= from && t <= to);
    }
    case "within_last_days": {
      const span = cmp.days * DAY_MS;
      return {
        relative: true,
        test: (t, now) => t !== null && t >= now - span && t <= now,
        next: (t, now) => (t === null ? null : now < t ? t : now <= t + span ? t + span + 1 : null),
      };
    }
    case "more_than_days_ago": {
      const span = cmp.days * DAY_MS;
      return {
        relative: true,
        test: (t, now) => t !== null && t < now - span,
        next: (t, now) => (t !== null && now <= t + span ? t + span + 1 : null),
      };
    }
    case "within_next_days": {
      const span = cmp.days * DAY_MS;
      return {
        relative: true,
        test: (t, now) => t !== null && t >= now && t <= now + span,
        next: (t, now) => (t === null ? null : now < t - span ? t - span : now <= t ? t + 1 : null),
      };
    }
  }
}

function compileAbsolute(op: "gt" | "gte" | "lt" | "lte", v: number): InstantCheck {
  if (op === "gt") return fixed((t) => t > v);
  if (op === "gte") return fixed((t) => t >= v);
  if (op === "lt") return fixed((t) => t < v);
  return fixed((t) => t <= v);
}

/** A property leaf: reads its path, then tests the value (relative date forms also report their next change). */
export interface PropertyCheck {
  read(properties: Properties): unknown;
  test(value: unknown, nowMs: number): boolean;
  next(value: unknown, nowMs: number): number | null;
}

const staticCheck = (test: (value: unknown) => boolean) => ({ test, next: () => null });

export function compilePropertyCondition(leaf: PropertyCondition): PropertyCheck {
  const segments = splitPropertyPath(leaf.property);
  const read = segments.length === 1 ? (p: Properties) => (Object.hasOwn(p, segments[0]!) ? p[segments[0]!] : undefined) : (p: Properties) => readPath(p, segments);
  return { read, ...compileValueTest(leaf) };
}

/** propertyInstant remembering its last answer: a leaf reads the same value for test and next. */
function memoInstant(): (value: unknown) => number | null {
  let lastValue: unknown = undefined;
  let lastInstant: number | null = null;
  return (value) => {
    if (value !== lastValue) {
      lastValue = value;
      lastInstant = propertyInstant(value);
    }
    return lastInstant;
  };
}

function compileValueTest(leaf: PropertyCondition): Omit<PropertyCheck, "read"> {
  const instant = memoInstant();
  switch (leaf.op) {
    case "defined":
      return staticCheck(isDefined);
    case "not_defined":
      return staticCheck((v) => !isDefined(v));
    case "eq":
      return staticCheck((v) => scalarEquals(v, leaf.value));
    case "neq":
      return staticCheck((v) => !scalarEquals(v, leaf.value));
    case "contains":
      return staticCheck((v) => containsValue(v, leaf.value));
    case "in": {
      const values = new Set<unknown>(leaf.values);
      return staticCheck((v) => (typeof v === "string" || typeof v === "number" || typeof v === "boolean") && values.has(v));
    }
    case "gt":
    case "gte":
    case "lt":
    case "lte": {
      if (typeof leaf.value === "number") {
        const cmp = compileNumberComparison({ op: leaf.op, value: leaf.value });
        return staticCheck((v) => typeof v === "number" && cmp(v));
      }
      const check = compileAbsolute(leaf.op, parseIsoDate(leaf.value)!);
      return staticCheck((v) => check.test(instant(v), 0));
    }
    case "between": {
      if (typeof leaf.from === "number" && typeof leaf.to === "number") {
        const cmp = compileNumberComparison({ op: "between", from: leaf.from, to: leaf.to });
        return staticCheck((v) => typeof v === "number" && cmp(v));
      }
      const check = compileDateComparison({ op: "between", from: leaf.from as string, to: leaf.to as string });
      return staticCheck((v) => check.test(instant(v), 0));
    }
    case "within_last_days":
    case "more_than_days_ago":
    case "within_next_days": {
      const check = compileDateComparison({ op: leaf.op, days: leaf.days });
      return {
        test: (v, now) => check.test(instant(v), now),
        next: (v, now) => check.next(instant(v), now),
      };
    }
  }
}

/**
 * Whether an event's properties satisfy every filter; the backend calls it at ingestion to decide
 * which counters an event increments (filters never depend on the clock).
 */
export function compileEventFilter(where: readonly EventPropertyFilter[]): (properties: Properties) => boolean {
  const checks = where.map(compilePropertyCondition);
  return (properties) => checks.every((c) => c.test(c.read(properties), 0));
}

const filterCache = new WeakMap<readonly EventPropertyFilter[], (properties: Properties) => boolean>();

export function eventMatchesFilter(properties: Properties, where: readonly EventPropertyFilter[] | null): boolean {
  if (!where || where.length === 0) return true;
  let compiled = filterCache.get(where);
  if (!compiled) {
    compiled = compileEventFilter(where);
    filterCache.set(where, compiled);
  }
  return compiled(properties);
}
