import { randomUUID } from "node:crypto";
import { cleanJson, correctTimestamp } from "@nurture/core";
import type { IncomingEvent } from "@nurture/backend";
import type { BatchMessage } from "./tracking.schemas";

const obj = (v: unknown) => (cleanJson(v ?? {}) as Record<string, unknown>) ?? {};
const date = (v: string | undefined) => (v === undefined ? undefined : new Date(v));

/**
 * A validated Segment message → the event we store, with the client's clock skew removed.
 * Runs for every message of every batch: fields are assigned one by one rather than spread, which
 * V8 does several times faster.
 */
export function normalizeMessage(
  message: BatchMessage,
  receivedAt: Date,
  batch: { sentAt?: string; context?: Record<string, unknown> } = {},
): IncomingEvent {
  const event: IncomingEvent = {
    type: message.type,
    messageId: message.messageId ?? randomUUID(),
    name: "",
    properties: {},
    // A fresh object: identity verification removes the token from it.
    context: obj(Object.assign({}, batch.context, message.context)),
    occurredAt: correctTimestamp({ timestamp: date(message.timestamp), sentAt: date(message.sentAt ?? batch.sentAt), receivedAt }),
  };
  if (message.userId !== undefined) event.userId = message.userId;
  if (message.anonymousId !== undefined) event.anonymousId = message.anonymousId;
  switch (message.type) {
    case "track":
      event.name = message.event;
      event.properties = obj(message.properties);
      break;
    case "page":
      event.name = "$page";
      event.properties = obj(message.properties);
      // Copied before adding to, so the request's own object stays as it came.
      if (message.name || message.category) event.properties = Object.assign({}, event.properties);
      if (message.name) event.properties.name = message.name;
      if (message.category) event.properties.category = message.category;
      break;
    case "screen":
      event.name = "$screen";
      event.properties = obj(message.properties);
      if (message.name) event.properties = Object.assign({}, event.properties, { name: message.name });
      break;
    case "identify":
      event.name = "$identify";
      event.traits = obj(message.traits);
      if (message.ops) event.ops = message.ops;
      break;
    case "alias":
      event.name = "$alias";
      event.previousId = message.previousId;
      event.properties = { previousId: message.previousId };
      break;
    case "group":
      event.name = "$group";
      event.properties = { groupId: message.groupId, traits: obj(message.traits) };
      break;
  }
  return event;
}
