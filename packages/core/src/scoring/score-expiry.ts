const DAY_MS = 86_400_000;

/** Exact 24-hour days after the event: no calendar or daylight-saving arithmetic. */
export function expiryInstant(at: Date, expiresAfterDays: number | null): Date | null {
  return expiresAfterDays === null ? null : new Date(at.getTime() + expiresAfterDays * DAY_MS);
}

export interface PendingExpiry {
  expiresAt: Date;
}

/** The awards whose points stop counting at or before `now`, earliest first. */
export function dueExpiries<T extends PendingExpiry>(pending: readonly T[], now: Date): T[] {
  return pending.filter((p) => p.expiresAt.getTime() <= now.getTime()).sort((a, b) => a.expiresAt.getTime() - b.expiresAt.getTime());
}

/** When the score next drops by itself: the earliest expiry after `now`, or null. */
export function nextExpiry(pending: readonly PendingExpiry[], now: Date): Date | null {
  let next: number | null = null;
  for (const p of pending) {
    const t = p.expiresAt.getTime();
    if (t > now.getTime() && (next === null || t < next)) next = t;
  }
  return next === null ? null : new Date(next);
}
