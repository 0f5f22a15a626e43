import type { KeyValueStore } from "./storage";
import { utf8Length, type OutgoingMessage } from "./messages";

export const QUEUE_KEY = "queue";
export const QUEUE_MAX_MESSAGES = 1000;
/** A single message above this is refused at the door: it would never fit a beacon or batch. */
export const MESSAGE_MAX_BYTES = 32 * 1024;

export interface EventQueue {
  /** False when the message was too large to ever be delivered. */
  push(message: OutgoingMessage): boolean;
  /** Oldest first, up to `limit` messages and `maxBytes` of JSON, skipping ids in `exclude`. */
  take(limit: number, maxBytes: number, exclude: Record<string, boolean>): OutgoingMessage[];
  remove(messageIds: string[]): void;
  size(): number;
}

/**
 * Messages waiting for delivery, kept in localStorage so a closed tab, a crash or an offline spell
 * loses nothing. Every operation re-reads storage: another tab of the same site shares the queue,
 * and a message sent twice by two tabs is harmless because the API deduplicates by messageId.
 */
export function createEventQueue(store: KeyValueStore, maxMessages = QUEUE_MAX_MESSAGES): EventQueue {
  const read = (): OutgoingMessage[] => {
    const stored = store.get<OutgoingMessage[]>(QUEUE_KEY);
    return Array.isArray(stored) ? stored.filter((m) => m && typeof m.messageId === "string") : [];
  };
  return {
    push(message) {
      if (utf8Length(JSON.stringify(message)) > MESSAGE_MAX_BYTES) return false;
      const all = read();
      all.push(message);
      // when the site is unreachable for very long, keep the newest: they describe the visitor now
      store.set(QUEUE_KEY, all.length > maxMessages ? all.slice(all.length - maxMessages) : all);
      return true;
    },
    take(limit, maxBytes, exclude) {
      const batch: OutgoingMessage[] = [];
      let bytes = 200; // the envelope: writeKey, sentAt, brackets
      for (const message of read()) {
        if (batch.length >= limit) break;
        if (exclude[message.messageId]) continue;
        const size = utf8Length(JSON.stringify(message)) + 1;
        if (batch.length > 0 && bytes + size > maxBytes) break;
        batch.push(message);
        bytes += size;
      }
      return batch;
    },
    remove(messageIds) {
      if (messageIds.length === 0) return;
      const gone: Record<string, boolean> = {};
      for (const id of messageIds) gone[id] = true;
      const all = read();
      const rest = all.filter((m) => !gone[m.messageId]);
      if (rest.length !== all.length) store.set(QUEUE_KEY, rest);
    },
    size() {
      return read().length;
    },
  };
}
