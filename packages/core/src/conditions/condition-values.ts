/**
 * The value semantics shared by every leaf: reading a property path, recognising dates, UTC days and
 * comparing instants. The SQL compiler in the backend mirrors each function here one to one.
 */
import type { Properties } from "../property-ops";
import type { Scalar } from "./condition.types";

export const DAY_MS = 86_400_000;

/** Splits a dotted property path; the schema has already refused empty segments. */
export function splitPropertyPath(path: string): string[] {
  return path.split(".");
}

/** Descends plain objects only: arrays are never indexed (SQL: a chain of `-> 'segment'`). */
export function readPath(properties: Properties, segments: readonly string[]): unknown {
  let current: unknown = properties;
  for (const segment of segments) {
    if (current === null || typeof current !== "object" || Array.isArray(current)) return undefined;
    if (!Object.hasOwn(current, segment)) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

export const isDefined = (value: unknown): boolean => value !== undefined && value !== null;

/** Same JSON type and value; arrays and objects never equal a scalar. */
export const scalarEquals = (value: unknown, expected: Scalar): boolean => value === expected;

/** Substring of a string, or an element of an array. */
export function containsValue(value: unknown, expected: Scalar): boolean {
  if (typeof value === "string") return typeof expected === "string" && value.includes(expected);
  if (Array.isArray(value)) return value.some((element) => element === expected);
  return false;
}

// ASCII digits spelled out: PostgreSQL's \d may match other scripts' digits, JavaScript's does not.
const ISO_DATE = /^([1-9][0-9]{3})-([0-9]{2})-([0-9]{2})(?:[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{1,9}))?)?(Z|[+-][0-9]{2}:[0-9]{2})?)?$/;
// migrations/010_segments.sql (nurture_instant) spells the same pattern for the SQL evaluator.

const isLeapYear = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Recognises "YYYY-MM-DD", optionally followed by "THH:MM", ":SS", ".fraction" and a zone ("Z" or
 * "±HH:MM"; none means UTC). Every field must be in range (no 30 February, no hour 24); fractions are
 * truncated to milliseconds. Returns epoch milliseconds, or null when the text is not such a date.
 */
export function parseIsoDate(text: string): number | null {
  const m = ISO_DATE.exec(text);
  if (!m) return null;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (month < 1 || month > 12) return null;
  const monthDays = month === 2 && isLeapYear(year) ? 29 : MONTH_DAYS[month - 1]!;
  if (day < 1 || day > monthDays) return null;
  const hour = m[4] === undefined ? 0 : Number(m[4]);
  const minute = m[5] === undefined ? 0 : Number(m[5]);
  const second = m[6] === undefined ? 0 : Number(m[6]);
  if (hour > 23 || minute > 59 || second > 59) return null;
  const millis = m[7] === undefined ? 0 : Number(`${m[7]}00`.slice(0, 3));
  let offsetMs = 0;
  if (m[8] !== undefined && m[8] !== "Z") {
    const offsetHours = Number(m[8].slice(1, 3));
    const offsetMinutes = Number(m[8].slice(4, 6));
    if (offsetHours > 23 || offsetMinutes > 59) return null;
    offsetMs = (m[8][0] === "-" ? -1 : 1) * (offsetHours * 60 + offsetMinutes) * 60_000;
  }
  return Date.UTC(year, month - 1, day, hour, minute, second, millis) - offsetMs;
}

/** A property value as an instant: only strings that parse as ISO dates are dates. */
export const propertyInstant = (value: unknown): number | null => (typeof value === "string" ? parseIsoDate(value) : null);

/** Days since 1970-01-01 of the UTC calendar day holding `ms`. */
export const epochDay = (ms: number): number => Math.floor(ms / DAY_MS);

/** "YYYY-MM-DD" of an epoch day, without allocating a Date (this runs per counter per evaluation). */
export function dayKeyOfEpochDay(days: number): string {
  // Howard Hinnant's civil_from_days.
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  return `${String(y).padStart(4, "0")}-${m < 10 ? "0" : ""}${m}-${d < 10 ? "0" : ""}${d}`;
}

/** The UTC day key ("YYYY-MM-DD") a counter files an event under. */
export const utcDayKey = (at: Date): string => dayKeyOfEpochDay(epochDay(at.getTime()));

/** Epoch day of a "YYYY-MM-DD" key (Howard Hinnant's days_from_civil; no Date allocated). */
export function epochDayOfKey(key: string): number {
  const m = Number(key.slice(5, 7));
  const d = Number(key.slice(8, 10));
  const y = Number(key.slice(0, 4)) - (m <= 2 ? 1 : 0);
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

/**
 * The UTC day keys a window of N days covers at `nowMs`: day D counts when low < D ≤ high, compared
 * as strings ("YYYY-MM-DD" sorts like the dates it names).
 */
export function windowBounds(nowMs: number, days: number): { low: string; high: string } {
  const today = epochDay(nowMs);
  return { low: dayKeyOfEpochDay(today - days), high: dayKeyOfEpochDay(today) };
}

export function sumDailyWithin(daily: Record<string, number>, low: string, high: string): number {
  let sum = 0;
  for (const key in daily) if (key > low && key <= high) sum += daily[key]!;
  return sum;
}
