import { randomUUID } from "node:crypto";
import { correctTimestamp, sanitizeJson } from "@nurture/core";
import type { IncomingEvent } from "@nurture/backend";
import type { BatchMessage } from "./tracking.schemas";

const obj = (v: unknown) => (sanitizeJson(v ?? {}) as Record<string, unknown>) ?? {};
const date = (v: string | undefined) => (v === undefined ? undefined : new Date(v));

/** A validated Segment message → the event we store, with the client's clock skew removed. */
export function normalizeMessage(
  message: BatchMessage,
  receivedAt: Date,
  batch: { sentAt?: string; context?: Record<string, unknown> } = {},
): IncomingEvent {
  const occurredAt = correctTimestamp({
    timestamp: date(message.timestamp),
    sentAt: date(message.sentAt ?? batch.sentAt),
    receivedAt,
  });
  const base = {
    messageId: message.messageId ?? randomUUID(),
    ...(message.userId !== undefined ? { userId: message.userId } : {}),
    ...(message.anonymousId !== undefined ? { anonymousId: message.anonymousId } : {}),
    context: obj({ ...batch.context, ...message.context }),
    occurredAt,
  };
  switch (message.type) {
    case "track":
      return { ...base, type: "track", name: message.event, properties: obj(message.properties) };
    case "page":
      return {
        ...base,
        type: "page",
        name: "$page",
        properties: obj({ ...message.properties, ...(message.name ? { name: message.name } : {}), ...(message.category ? { category: message.category } : {}) }),
      };
    case "screen":
      return { ...base, type: "screen", name: "$screen", properties: obj({ ...message.properties, ...(message.name ? { name: message.name } : {}) }) };
    case "identify":
      return { ...base, type: "identify", name: "$identify", properties: {}, traits: obj(message.traits), ...(message.ops ? { ops: message.ops } : {}) };
    case "alias":
      return { ...base, type: "alias", name: "$alias", previousId: message.previousId, properties: { previousId: message.previousId } };
    case "group":
      return { ...base, type: "group", name: "$group", properties: { groupId: message.groupId, traits: obj(message.traits) } };
  }
}
