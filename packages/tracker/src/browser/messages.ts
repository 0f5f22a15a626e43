import type { PropertyOpMessage } from "./attribution";
import { toJsonSafe } from "./json-safe";

export type MessageType = "track" | "page" | "identify";

/** One Segment-compatible message as the ingestion API accepts it inside `batch`. */
export interface OutgoingMessage {
  type: MessageType;
  messageId: string;
  anonymousId: string;
  userId?: string;
  event?: string;
  name?: string;
  properties?: Record<string, unknown>;
  traits?: Record<string, unknown>;
  ops?: PropertyOpMessage[];
  context: Record<string, unknown>;
  timestamp: string;
}

/** The request body of `POST /v1/batch`. */
export function batchBody(writeKey: string, batch: OutgoingMessage[], sentAt: Date): string {
  return JSON.stringify({ writeKey, batch, sentAt: sentAt.toISOString() });
}

/** UTF-8 byte length without allocating an encoder (beacon and batch limits are in bytes). */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code < 0xdc00) {
      bytes += 4; // surrogate pair: one 4-byte character
      i++;
    } else bytes += 3;
  }
  return bytes;
}

const OPS = ["set", "set_once", "unset", "increment", "append", "union", "remove"];

/**
 * Property operations from the page: an array of `{op, key, value}` or a plain object (meaning
 * "set these"). Malformed entries are dropped, never thrown about.
 */
export function normalizeOps(input: unknown): PropertyOpMessage[] {
  if (input !== null && typeof input === "object" && !Array.isArray(input)) {
    const values = toJsonSafe(input) as Record<string, unknown>;
    return Object.keys(values).map((key) => ({ op: "set" as const, key, value: values[key] }));
  }
  if (!Array.isArray(input)) return [];
  const out: PropertyOpMessage[] = [];
  for (const item of input) {
    if (item === null || typeof item !== "object") continue;
    const { op, key, value } = item as { op?: unknown; key?: unknown; value?: unknown };
    if (typeof op !== "string" || OPS.indexOf(op) === -1 || typeof key !== "string" || !key) continue;
    if (op === "unset") out.push({ op, key });
    else if (op === "increment" && (typeof value !== "number" || !isFinite(value))) continue;
    else {
      const safe = toJsonSafe(value);
      out.push({ op: op as PropertyOpMessage["op"], key, value: safe === undefined ? null : safe });
    }
  }
  return out;
}
