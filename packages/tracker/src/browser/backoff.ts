export const RETRY_BASE_MS = 1000;
export const RETRY_MAX_MS = 5 * 60 * 1000;

/** Exponential back-off with jitter, so a recovering server is not hit by every browser at once. */
export function retryDelay(attempt: number, random: number, baseMs = RETRY_BASE_MS, maxMs = RETRY_MAX_MS): number {
  const exp = Math.min(maxMs, baseMs * Math.pow(2, Math.max(0, Math.min(attempt, 30))));
  return Math.round(exp * (0.5 + random / 2));
}

/** `Retry-After` as milliseconds (seconds or an HTTP date), or null when absent or unreadable. */
export function parseRetryAfter(header: string | null | undefined, nowMs: number): number | null {
  if (!header) return null;
  const trimmed = header.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.min(RETRY_MAX_MS, Math.round(Number(trimmed) * 1000));
  const at = Date.parse(trimmed);
  if (isNaN(at)) return null;
  return Math.min(RETRY_MAX_MS, Math.max(0, at - nowMs));
}

/**
 * What to do with a batch after the server answered:
 * - ok: delivered, forget it;
 * - retry: not the batch's fault (network, overload, outage), send the same messages again later;
 * - reject: the server refuses these messages (invalid / too large): split and drop the bad one;
 * - stop: the write key is refused; sending again cannot help on this page.
 */
export type Outcome = { kind: "ok" } | { kind: "retry"; afterMs: number | null } | { kind: "reject" } | { kind: "stop" };

export function classifyResponse(status: number | null, retryAfter: number | null): Outcome {
  if (status === null || status === 0) return { kind: "retry", afterMs: null };
  if (status >= 200 && status < 300) return { kind: "ok" };
  if (status === 401 || status === 403) return { kind: "stop" };
  if (status === 408 || status === 425 || status === 429 || status >= 500) return { kind: "retry", afterMs: retryAfter };
  return { kind: "reject" };
}
