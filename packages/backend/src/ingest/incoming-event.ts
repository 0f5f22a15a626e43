import type { PropertyOp } from "@nurture/core";

export type IncomingEventType = "track" | "page" | "screen" | "identify" | "alias" | "group";

/** One message after validation and clock-skew correction, ready to store. */
export interface IncomingEvent {
  type: IncomingEventType;
  messageId: string;
  userId?: string;
  anonymousId?: string;
  /** alias: the id the user was known by before. */
  previousId?: string;
  /** Timeline name: the track event name, `$page`, `$screen`, `$identify`, `$alias`, `$group`. */
  name: string;
  properties: Record<string, unknown>;
  /** identify: traits to set on the card. */
  traits?: Record<string, unknown>;
  /** identify: extra property operations (Nurture extension; the tracker's `props()` uses it). */
  ops?: PropertyOp[];
  context: Record<string, unknown>;
  occurredAt: Date;
}
