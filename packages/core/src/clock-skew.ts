/**
 * Corrects a client's clock the way Segment does: the client stamps `sentAt` when it sends, the
 * server knows when it received the request, and the difference is the client's skew.
 */
export function correctTimestamp(input: { timestamp?: Date; sentAt?: Date; receivedAt: Date }): Date {
  const { timestamp, sentAt, receivedAt } = input;
  if (!timestamp) return receivedAt;
  if (!sentAt) return timestamp;
  return new Date(timestamp.getTime() + (receivedAt.getTime() - sentAt.getTime()));
}
