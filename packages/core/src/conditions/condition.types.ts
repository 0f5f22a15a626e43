/**
 * The segment condition language: a JSON tree of and / or / not over leaves that ask about one user
 * card. Both evaluators (in memory here, SQL in the backend) implement exactly the semantics written
 * on each type below; change one and the property test comparing them will fail.
 */

/** A JSON scalar a property may be compared with. */
export type Scalar = string | number | boolean;

/** An ISO 8601 date or date-time as written in a condition ("2024-05-01", "2024-05-01T10:00:00Z"). */
export type IsoDate = string;

export type NumberComparison =
  | { op: "eq" | "neq" | "gt" | "gte" | "lt" | "lte"; value: number }
  /** Inclusive at both ends. */
  | { op: "between"; from: number; to: number };

/**
 * Compares an instant. Relative forms use exact 24-hour days counted back (or on) from `now`:
 * - within_last_days N: now − N days ≤ t ≤ now
 * - more_than_days_ago N: t < now − N days
 * - within_next_days N: now ≤ t ≤ now + N days
 * A missing instant (never happened, property absent or not a date) fails every form.
 */
export type DateComparison =
  | { op: "gt" | "gte" | "lt" | "lte"; value: IsoDate }
  | { op: "between"; from: IsoDate; to: IsoDate }
  | { op: "within_last_days" | "more_than_days_ago" | "within_next_days"; days: number };

/** For the text facts the card carries (grade, value class, lifecycle stage); null is "not defined". */
export type TextComparison =
  | { op: "eq" | "neq"; value: string }
  | { op: "in"; values: string[] }
  | { op: "defined" | "not_defined" };

/**
 * A question about one property, addressed by a dotted path into nested objects ("company.plan");
 * arrays are never indexed into. Semantics (both evaluators):
 * - defined: present and not null; not_defined is its negation.
 * - eq: same JSON type and value (1 ≠ "1"); neq is exactly `not eq` (so a missing property is "not equal").
 * - contains: a string property contains the value as a case-sensitive substring, or an array property
 *   has an element equal to the value.
 * - in: a scalar property equal to one of the values.
 * - gt/gte/lt/lte/between with a number: the property is a JSON number. With a date: the property is a
 *   string that parses as an ISO date (see parseIsoDate), compared at millisecond precision.
 * - within_last_days / more_than_days_ago / within_next_days: the property parses as an ISO date.
 */
export type PropertyCondition =
  | { property: string; op: "defined" | "not_defined" }
  | { property: string; op: "eq" | "neq"; value: Scalar }
  | { property: string; op: "contains"; value: Scalar }
  | { property: string; op: "in"; values: Scalar[] }
  | { property: string; op: "gt" | "gte" | "lt" | "lte"; value: number | IsoDate }
  | { property: string; op: "between"; from: number | IsoDate; to: number | IsoDate }
  | { property: string; op: "within_last_days" | "more_than_days_ago" | "within_next_days"; days: number };

/** A property question that does not depend on the clock: allowed as an event filter. */
export type EventPropertyFilter = Exclude<PropertyCondition, { op: "within_last_days" | "more_than_days_ago" | "within_next_days" }>;

/**
 * How many times the event happened, compared with a number.
 * - `where`: only events whose properties satisfy every filter (counted at ingestion into a counter).
 * - `withinDays` N: only events whose UTC calendar day is one of the N most recent UTC days, today
 *   included — day D counts when today − N < D ≤ today. N = 1 means "today (UTC)". Days in the future
 *   (client clocks) are not counted until they arrive.
 */
export interface EventCountCondition {
  event: string;
  count: NumberComparison;
  where?: EventPropertyFilter[];
  withinDays?: number;
}

/** When the event last / first happened (optionally only events matching `where`). */
export interface EventLastCondition {
  event: string;
  last: DateComparison;
  where?: EventPropertyFilter[];
}
export interface EventFirstCondition {
  event: string;
  first: DateComparison;
  where?: EventPropertyFilter[];
}
/** `happened: false` is "never happened". */
export interface EventHappenedCondition {
  event: string;
  happened: boolean;
  where?: EventPropertyFilter[];
}

export interface AndCondition {
  and: Condition[];
}
export interface OrCondition {
  or: Condition[];
}
export interface NotCondition {
  not: Condition;
}
/** Lead score (scoring feature). */
export interface ScoreCondition {
  score: NumberComparison;
}
export interface GradeCondition {
  grade: TextComparison;
}
export interface ValueClassCondition {
  valueClass: TextComparison;
}
export interface LifecycleStageCondition {
  lifecycleStage: TextComparison;
}
/** Member of the segment with this id now. */
export interface SegmentCondition {
  segment: string;
}
export interface FirstSeenCondition {
  firstSeen: DateComparison;
}
export interface LastSeenCondition {
  lastSeen: DateComparison;
}
/** The site told us who this is (userId known) rather than an anonymous visitor. */
export interface IdentifiedCondition {
  identified: boolean;
}
/** The `email` property is a string containing "@". */
export interface EmailKnownCondition {
  emailKnown: boolean;
}
export interface EmailUnsubscribedCondition {
  emailUnsubscribed: boolean;
}

export type Condition =
  | AndCondition
  | OrCondition
  | NotCondition
  | PropertyCondition
  | EventCountCondition
  | EventLastCondition
  | EventFirstCondition
  | EventHappenedCondition
  | ScoreCondition
  | GradeCondition
  | ValueClassCondition
  | LifecycleStageCondition
  | SegmentCondition
  | FirstSeenCondition
  | LastSeenCondition
  | IdentifiedCondition
  | EmailKnownCondition
  | EmailUnsubscribedCondition;

/** A node with its kind, so a switch narrows it. */
export type ClassifiedCondition =
  | { kind: "and"; node: AndCondition }
  | { kind: "or"; node: OrCondition }
  | { kind: "not"; node: NotCondition }
  | { kind: "property"; node: PropertyCondition }
  | { kind: "event_count"; node: EventCountCondition }
  | { kind: "event_last"; node: EventLastCondition }
  | { kind: "event_first"; node: EventFirstCondition }
  | { kind: "event_happened"; node: EventHappenedCondition }
  | { kind: "score"; node: ScoreCondition }
  | { kind: "grade"; node: GradeCondition }
  | { kind: "value_class"; node: ValueClassCondition }
  | { kind: "lifecycle_stage"; node: LifecycleStageCondition }
  | { kind: "segment"; node: SegmentCondition }
  | { kind: "first_seen"; node: FirstSeenCondition }
  | { kind: "last_seen"; node: LastSeenCondition }
  | { kind: "identified"; node: IdentifiedCondition }
  | { kind: "email_known"; node: EmailKnownCondition }
  | { kind: "email_unsubscribed"; node: EmailUnsubscribedCondition };

export type ConditionKind =
  | "and"
  | "or"
  | "not"
  | "property"
  | "event_count"
  | "event_last"
  | "event_first"
  | "event_happened"
  | "score"
  | "grade"
  | "value_class"
  | "lifecycle_stage"
  | "segment"
  | "first_seen"
  | "last_seen"
  | "identified"
  | "email_known"
  | "email_unsubscribed";

/** Limits that keep one condition cheap to store, evaluate and compile. */
export const CONDITION_LIMITS = {
  maxDepth: 10,
  maxNodes: 200,
  maxChildren: 50,
  maxListValues: 500,
  maxStringLength: 500,
  maxNameLength: 200,
  maxPathSegments: 8,
  maxEventFilters: 10,
  /** Relative dates ("within the last N days"). */
  maxDays: 3650,
  /** Windowed counts keep daily buckets, so their window is shorter. */
  maxWindowDays: 365,
} as const;

/** Names the kind of a node that has already been validated. */
export function classifyCondition(node: Condition): ClassifiedCondition {
  if ("and" in node) return { kind: "and", node };
  if ("or" in node) return { kind: "or", node };
  if ("not" in node) return { kind: "not", node };
  if ("property" in node) return { kind: "property", node };
  if ("event" in node) {
    if ("count" in node) return { kind: "event_count", node };
    if ("last" in node) return { kind: "event_last", node };
    if ("first" in node) return { kind: "event_first", node };
    return { kind: "event_happened", node };
  }
  if ("score" in node) return { kind: "score", node };
  if ("grade" in node) return { kind: "grade", node };
  if ("valueClass" in node) return { kind: "value_class", node };
  if ("lifecycleStage" in node) return { kind: "lifecycle_stage", node };
  if ("segment" in node) return { kind: "segment", node };
  if ("firstSeen" in node) return { kind: "first_seen", node };
  if ("lastSeen" in node) return { kind: "last_seen", node };
  if ("identified" in node) return { kind: "identified", node };
  if ("emailKnown" in node) return { kind: "email_known", node };
  return { kind: "email_unsubscribed", node };
}

export const conditionKind = (node: Condition): ConditionKind => classifyCondition(node).kind;
