/** Client clocks further ahead than this are treated as wrong rather than as scheduling the future. */
const MAX_FUTURE_MS = 24 * 3_600_000;
/** Nothing a tracker sends happened before the Unix epoch; earlier values are broken clocks. */
const EARLIEST_MS = 0;

/**
 * Corrects a client's clock the way Segment does: the client stamps `sentAt` when it sends, the
 * server knows when it received the request, and the difference is the client's skew. A result no
 * clock could have produced (before 1970, or more than a day ahead of us) falls back to the time
 * we received it.
 */
export function correctTimestamp(input: { timestamp?: Date; sentAt?: Date; receivedAt: Date }): Date {
  const { timestamp, sentAt, receivedAt } = input;
  if (!timestamp) return receivedAt;
  const skew = sentAt ? receivedAt.getTime() - sentAt.getTime() : 0;
  const corrected = timestamp.getTime() + skew;
  if (!Number.isFinite(corrected) || corrected < EARLIEST_MS || corrected > receivedAt.getTime() + MAX_FUTURE_MS) return receivedAt;
  return new Date(corrected);
}
