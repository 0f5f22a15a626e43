import type { Channel, QuietHours } from "./campaign.schema";

const DAY_MS = 86_400_000;

interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** The wall clock in a time zone at an instant. */
export function wallClock(at: Date, timeZone: string): WallClock {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(at)) if (p.type !== "literal") parts[p.type] = Number(p.value);
  return { year: parts.year!, month: parts.month!, day: parts.day!, hour: parts.hour! % 24, minute: parts.minute!, second: parts.second! };
}

function offsetMs(at: number, timeZone: string): number {
  const w = wallClock(new Date(at), timeZone);
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - Math.floor(at / 1000) * 1000;
}

/**
 * The instant a wall-clock time happens in a time zone. In a DST overlap (the time happens twice) the
 * earlier instant; in a DST gap (it never happens) the instant as far past the gap as it was into it.
 */
export function zonedInstant(year: number, month: number, day: number, hour: number, minute: number, timeZone: string): Date {
  const naive = Date.UTC(year, month - 1, day, hour, minute);
  const before = offsetMs(naive - DAY_MS, timeZone);
  const after = offsetMs(naive + DAY_MS, timeZone);
  const candidates = [naive - before, naive - after].filter((t) => t + offsetMs(t, timeZone) === naive);
  return new Date(candidates.length > 0 ? Math.min(...candidates) : naive - before);
}

/** Midnight (local) of the day holding `at` in the time zone: the start of "today" for daily caps. */
export function startOfLocalDay(at: Date, timeZone: string): Date {
  const w = wallClock(at, timeZone);
  return zonedInstant(w.year, w.month, w.day, 0, 0, timeZone);
}

const minutesOf = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/**
 * When quiet hours apply to the channel and `now` falls inside them, the instant they end (local
 * time in the project's zone); otherwise null — the message may go now. A window whose start is
 * after its end spans midnight (21:00–08:00).
 */
export function quietHoursEnd(now: Date, timeZone: string, quiet: QuietHours | null, channel: Channel): Date | null {
  if (!quiet || !quiet.channels.includes(channel)) return null;
  const w = wallClock(now, timeZone);
  const minute = w.hour * 60 + w.minute;
  const start = minutesOf(quiet.start);
  const end = minutesOf(quiet.end);
  const endH = Math.floor(end / 60);
  const endM = end % 60;
  const spansMidnight = start > end;
  const inside = spansMidnight ? minute >= start || minute < end : minute >= start && minute < end;
  if (!inside) return null;
  // After the start on the evening side of a midnight-spanning window, the end is tomorrow.
  const tomorrow = spansMidnight && minute >= start;
  const date = new Date(Date.UTC(w.year, w.month - 1, w.day + (tomorrow ? 1 : 0)));
  return zonedInstant(date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate(), endH, endM, timeZone);
}
