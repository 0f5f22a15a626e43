import type { EventStat } from "./card-merge";
import type { Properties } from "./property-ops";

export const LIFECYCLE_STAGES = ["new", "novice", "engaged", "power"] as const;
export type LifecycleStage = (typeof LIFECYCLE_STAGES)[number];

/**
 * Incrementally kept count of one event, optionally only those whose properties match a filter,
 * bucketed by UTC day so windowed counts ("in the last N days") need no raw-event scan.
 * Keyed on the card by a canonical key of (event name, filter) — see the segments feature.
 */
export interface EventCounter {
  total: number;
  firstAt: Date | null;
  lastAt: Date | null;
  /** "YYYY-MM-DD" (UTC) → count of that day. */
  daily: Record<string, number>;
}

/**
 * What the rule engine knows about one user: everything a condition may ask, already aggregated,
 * so evaluating never scans raw events. Built by the backend from the users row and its side tables.
 */
export interface UserCard {
  /** Internal id (users.id). */
  id: number;
  /** The site's own id; null while anonymous. */
  userId: string | null;
  properties: Properties;
  firstSeenAt: Date;
  lastSeenAt: Date;
  /** Per event name: count, first and last time (all time). */
  eventStats: Record<string, EventStat>;
  /** Filtered / windowed counters, keyed by counter key. */
  counters: Record<string, EventCounter>;
  /** Lead score (scoring feature); 0 when none. */
  score: number;
  /** Grade band name (scoring feature), e.g. "A". */
  grade: string | null;
  /** ABC/XYZ class, e.g. "AX". */
  valueClass: string | null;
  lifecycleStage: LifecycleStage | null;
  /** Ids of the segments the user is a member of now. */
  segmentIds: string[];
  emailUnsubscribed: boolean;
}
