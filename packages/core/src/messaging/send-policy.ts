import type { Channel, RepeatPolicy } from "./campaign.schema";

const DAY_MS = 86_400_000;

export type RepeatDecision =
  | { allowed: true; windowKey: string }
  | { allowed: false; because: "received" | "too_soon" | "held_today"; reason: string; nextAllowedAt: Date | null };

/** A series of a campaign the user already started. */
export interface PriorSeries {
  startedAt: Date;
  windowKey: string;
  /** At least one of its messages went out or is still on its way; a series that was entirely
   * cancelled, held or skipped does not count as "received". */
  live: boolean;
  /** When a daily cap held one of its messages back, if one did. */
  heldAt?: Date | null;
}

/** A key no earlier series used: the base, else "base#2", "base#3"… */
function freshKey(base: string, prior: readonly PriorSeries[]): string {
  const used = new Set(prior.map((p) => p.windowKey));
  if (!used.has(base)) return base;
  let n = 2;
  while (used.has(`${base}#${n}`)) n += 1;
  return `${base}#${n}`;
}

/**
 * Whether a campaign may start (again) for a user. The window key goes into the ledger's unique key,
 * so a duplicate trigger of the same start can never create a second series: "once" allows one
 * received series ever; "every N days" one per N-day bucket, the spacing check guaranteeing that
 * two allowed starts never share a bucket. A series a daily cap held back on the user's current
 * day (since `capDayStart`) blocks another start until the day is over: the cap holds until then,
 * and every page view would otherwise add one more held copy to the ledger.
 */
export function repeatDecision(repeat: RepeatPolicy, prior: readonly PriorSeries[], now: Date, capDayStart?: Date): RepeatDecision {
  const heldToday = capDayStart ? prior.find((p) => !p.live && p.heldAt && p.heldAt >= capDayStart) : undefined;
  if (heldToday) return { allowed: false, because: "held_today", reason: `a daily cap held this campaign back at ${heldToday.heldAt!.toISOString()}; it can start again tomorrow`, nextAllowedAt: null };
  const live = prior.filter((p) => p.live);
  const last = live.reduce<Date | null>((max, p) => (max === null || p.startedAt > max ? p.startedAt : max), null);
  if (repeat.mode === "once") {
    if (last !== null) return { allowed: false, because: "received", reason: `already received this campaign (started ${last.toISOString()}); it is sent once per user`, nextAllowedAt: null };
    return { allowed: true, windowKey: freshKey("once", prior) };
  }
  const spacing = repeat.days * DAY_MS;
  if (last !== null && now.getTime() - last.getTime() < spacing) {
    const next = new Date(last.getTime() + spacing);
    return {
      allowed: false,
      because: "too_soon",
      reason: `received this campaign on ${last.toISOString()}; it repeats at most every ${repeat.days} day(s), next from ${next.toISOString()}`,
      nextAllowedAt: next,
    };
  }
  return { allowed: true, windowKey: freshKey(`every${repeat.days}d:${Math.floor(now.getTime() / spacing)}`, prior) };
}

export type CapDecision = { allowed: true } | { allowed: false; reason: string };

/** The project's per-user daily cap for a channel; `sentToday` counts messages already sent or being sent. */
export function capDecision(caps: Partial<Record<Channel, number>>, channel: Channel, sentToday: number): CapDecision {
  const cap = caps[channel];
  if (cap === undefined) return { allowed: true };
  if (sentToday < cap) return { allowed: true };
  return { allowed: false, reason: `project cap reached: at most ${cap} ${channel} message(s) per user per day (${sentToday} already today)` };
}
