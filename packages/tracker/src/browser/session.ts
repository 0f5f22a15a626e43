/** Inactivity after which the next activity counts as a new visit (what lifecycle stages count). */
export const SESSION_TIMEOUT_MS = 30 * 60 * 1000;

export interface SessionState {
  id: string;
  startedAt: number;
  lastActivityAt: number;
}

/**
 * Records activity at `now`: the same session while the visitor was active in the last 30 minutes,
 * otherwise a new one (`started` tells the caller to emit `$session_start`).
 */
export function touchSession(
  previous: SessionState | null,
  now: number,
  newId: () => string,
): { state: SessionState; started: boolean } {
  const valid =
    previous !== null &&
    typeof previous.id === "string" &&
    typeof previous.lastActivityAt === "number" &&
    now - previous.lastActivityAt < SESSION_TIMEOUT_MS &&
    // a clock set backwards by more than the timeout is not "the same visit" either
    previous.lastActivityAt - now < SESSION_TIMEOUT_MS;
  if (valid) return { state: { ...previous, lastActivityAt: Math.max(now, previous.lastActivityAt) }, started: false };
  return { state: { id: newId(), startedAt: now, lastActivityAt: now }, started: true };
}
