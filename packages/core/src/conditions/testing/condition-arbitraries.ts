/**
 * fast-check generators for property tests of the rule engine: users with their events, and conditions
 * over the same small vocabulary so that generated conditions often hit (and often sit on boundaries).
 * Shared by the core tests and the backend test comparing the SQL evaluator with the in-memory one.
 */
import fc from "fast-check";
import type { Properties } from "../../property-ops";
import { LIFECYCLE_STAGES, type LifecycleStage, type UserCard } from "../../user-card";
import type { Condition, DateComparison, EventPropertyFilter, NumberComparison, PropertyCondition, Scalar, TextComparison } from "../condition.types";
import { DAY_MS, epochDay } from "../condition-values";
import type { CounterDefinition } from "../counter-key";
import { buildCounter, type CountableEvent } from "../counter-maintenance";

/** Every scenario is judged at this instant (deliberately not on a day or second boundary). */
export const SCENARIO_NOW = new Date("2024-05-20T12:34:56.789Z");
const NOW = SCENARIO_NOW.getTime();
const TODAY = epochDay(NOW);

export const EVENT_NAMES = ["checkout_started", "order_paid", "$session_start", "feature_used"] as const;

/** Instants near now, with extra weight on the edges conditions care about (N days ago, midnights). */
export const instantArb: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: -30 * DAY_MS, max: 3 * DAY_MS }).map((d) => NOW + d),
  fc.tuple(fc.integer({ min: 1, max: 20 }), fc.constantFrom(-1, 0, 1), fc.constantFrom(-1, 1)).map(([days, eps, sign]) => NOW + sign * days * DAY_MS + eps),
  fc.tuple(fc.integer({ min: -25, max: 2 }), fc.constantFrom(-1, 0, 1)).map(([k, eps]) => (TODAY + k) * DAY_MS + eps),
);

const pad = (n: number, width = 2) => String(Math.abs(n)).padStart(width, "0");

/** A date as sites write it: several ISO spellings of an instant, plus near-misses that are not dates. */
export const dateTextArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(instantArb, fc.integer({ min: 0, max: 6 }), fc.integer({ min: -12, max: 14 })).map(([t, style, offsetHours]) => spellInstant(t, style, offsetHours)) },
  { weight: 1, arbitrary: fc.constantFrom("2024-02-30", "2023-02-29", "2024-13-01", "2024-05-20T24:00:00Z", "20240520", "May 20, 2024", "2024-05-20T10:00:00+25:00", "", "2024-5-20") },
);

function spellInstant(t: number, style: number, offsetHours: number): string {
  const iso = new Date(t).toISOString();
  switch (style) {
    case 0:
      return iso;
    case 1:
      return iso.slice(0, 10);
    case 2:
      return iso.slice(0, 19) + "Z";
    case 3:
      return iso.slice(0, 19).replace("T", " ");
    case 4:
      return `${iso.slice(0, 23)}4567Z`;
    case 5:
      return iso.slice(0, 16);
    default: {
      const local = new Date(t + offsetHours * 3_600_000).toISOString().slice(0, 23);
      return `${local}${offsetHours < 0 ? "-" : "+"}${pad(offsetHours)}:00`;
    }
  }
}

const validDateArb = instantArb.map((t) => new Date(t).toISOString());

const eventPropertiesArb: fc.Arbitrary<Properties> = fc.record(
  {
    plan: fc.constantFrom<unknown>("pro", "free", 1, null),
    amount: fc.oneof(fc.integer({ min: 0, max: 300 }), fc.double({ min: 0, max: 300, noNaN: true, noDefaultInfinity: true }), fc.constant("12")),
    coupon: fc.constantFrom<unknown>("SPRING", "spring", "SUMMER24", ""),
    tags: fc.array(fc.constantFrom<unknown>("a", "b", 1), { maxLength: 3 }),
    at: dateTextArb,
  },
  { requiredKeys: [] },
);

export const eventArb: fc.Arbitrary<CountableEvent> = fc.record({
  name: fc.constantFrom(...EVENT_NAMES),
  properties: eventPropertiesArb,
  occurredAt: instantArb.map((t) => new Date(t)),
});

const userPropertiesArb: fc.Arbitrary<Properties> = fc.record(
  {
    plan: fc.constantFrom<unknown>("free", "pro", "team", 1, true, null, ["pro"]),
    age: fc.oneof(fc.integer({ min: 0, max: 100 }), fc.double({ min: 0, max: 100, noNaN: true, noDefaultInfinity: true }), fc.constant<unknown>("30")),
    tags: fc.array(fc.constantFrom<unknown>("vip", "beta", 1, "VIP"), { maxLength: 4 }),
    signup: dateTextArb,
    trial_ends: dateTextArb,
    company: fc.oneof(fc.record({ size: fc.integer({ min: 1, max: 500 }), name: fc.constantFrom("Acme", "Initech", "Ωmega") }, { requiredKeys: [] }), fc.constant<unknown>("acme"), fc.constant(null)),
    email: fc.constantFrom<unknown>("ann@example.com", "not-an-address", 5, "bob@example.org"),
    name: fc.string({ maxLength: 8, unit: "grapheme" }).map((s) => s.replaceAll("\u0000", "")),
  },
  { requiredKeys: [] },
);

export interface UserScenario {
  userId: string | null;
  properties: Properties;
  firstSeenAt: Date;
  lastSeenAt: Date;
  score: number;
  grade: string | null;
  valueClass: string | null;
  lifecycleStage: LifecycleStage | null;
  emailUnsubscribed: boolean;
  /** Indexes into the segment ids the test provides. */
  segmentIndexes: number[];
  events: CountableEvent[];
}

export const scenarioArb: fc.Arbitrary<UserScenario> = fc
  .record({
    userId: fc.option(fc.constantFrom("u1", "u2"), { nil: null }),
    properties: userPropertiesArb,
    seen: fc.tuple(instantArb, instantArb),
    score: fc.integer({ min: -10, max: 100 }),
    grade: fc.constantFrom(null, "A", "B", "C"),
    valueClass: fc.constantFrom(null, "AX", "BY", "CZ"),
    lifecycleStage: fc.constantFrom<LifecycleStage | null>(null, ...LIFECYCLE_STAGES),
    emailUnsubscribed: fc.boolean(),
    segmentIndexes: fc.uniqueArray(fc.integer({ min: 0, max: 2 }), { maxLength: 3 }),
    events: fc.array(eventArb, { maxLength: 16 }),
  })
  .map(({ seen, ...rest }) => ({ ...rest, firstSeenAt: new Date(Math.min(...seen)), lastSeenAt: new Date(Math.max(...seen)) }));

/** The card the backend would load for the scenario, with the given counters kept. */
export function scenarioCard(scenario: UserScenario, counters: readonly Pick<CounterDefinition, "key" | "event" | "where">[], segmentIds: readonly string[], id = 1): UserCard {
  const eventStats: UserCard["eventStats"] = {};
  for (const e of scenario.events) {
    const s = eventStats[e.name];
    if (!s) eventStats[e.name] = { count: 1, firstAt: e.occurredAt, lastAt: e.occurredAt };
    else {
      s.count += 1;
      if (e.occurredAt < s.firstAt) s.firstAt = e.occurredAt;
      if (e.occurredAt > s.lastAt) s.lastAt = e.occurredAt;
    }
  }
  return {
    id,
    userId: scenario.userId,
    properties: scenario.properties,
    firstSeenAt: scenario.firstSeenAt,
    lastSeenAt: scenario.lastSeenAt,
    eventStats,
    counters: Object.fromEntries(counters.map((c) => [c.key, buildCounter(c, scenario.events)])),
    score: scenario.score,
    grade: scenario.grade,
    valueClass: scenario.valueClass,
    lifecycleStage: scenario.lifecycleStage,
    segmentIds: scenario.segmentIndexes.map((i) => segmentIds[i]!).filter(Boolean),
    emailUnsubscribed: scenario.emailUnsubscribed,
  };
}

// ---- conditions ----

const scalarArb = fc.constantFrom<Scalar>("free", "pro", "team", "vip", "VIP", "a", "", "30", "Acme", 1, 30, 12, true, false);
const daysArb = fc.integer({ min: 1, max: 20 });

const numberComparisonArb = (min: number, max: number): fc.Arbitrary<NumberComparison> =>
  fc.oneof(
    fc.record({ op: fc.constantFrom("eq", "neq", "gt", "gte", "lt", "lte"), value: fc.integer({ min, max }) }),
    fc.tuple(fc.integer({ min, max }), fc.integer({ min, max })).map(([a, b]) => ({ op: "between" as const, from: Math.min(a, b), to: Math.max(a, b) })),
  );

const dateComparisonArb: fc.Arbitrary<DateComparison> = fc.oneof(
  fc.record({ op: fc.constantFrom("within_last_days", "more_than_days_ago", "within_next_days"), days: daysArb }),
  fc.record({ op: fc.constantFrom("gt", "gte", "lt", "lte"), value: validDateArb }),
  fc.tuple(instantArb, instantArb).map(([a, b]) => ({ op: "between" as const, from: new Date(Math.min(a, b)).toISOString(), to: new Date(Math.max(a, b)).toISOString() })),
);

const textComparisonArb = (pool: string[]): fc.Arbitrary<TextComparison> =>
  fc.oneof(
    fc.record({ op: fc.constantFrom("eq", "neq"), value: fc.constantFrom(...pool) }),
    fc.record({ op: fc.constant("in"), values: fc.uniqueArray(fc.constantFrom(...pool), { minLength: 1, maxLength: 3 }) }),
    fc.record({ op: fc.constantFrom("defined", "not_defined") }),
  );

function staticPropertyArb(paths: string[], numeric: [number, number]): fc.Arbitrary<EventPropertyFilter> {
  const property = fc.constantFrom(...paths);
  return fc.oneof(
    fc.record({ property, op: fc.constantFrom("defined", "not_defined") }),
    fc.record({ property, op: fc.constantFrom("eq", "neq"), value: scalarArb }),
    fc.record({ property, op: fc.constant("contains"), value: fc.constantFrom<Scalar>("vip", "a", "pr", "@", "example", "SPRING", 1, "Ω") }),
    fc.record({ property, op: fc.constant("in"), values: fc.uniqueArray(scalarArb, { minLength: 1, maxLength: 4 }) }),
    fc.record({ property, op: fc.constantFrom("gt", "gte", "lt", "lte"), value: fc.oneof(fc.integer({ min: numeric[0], max: numeric[1] }), validDateArb) }),
    fc.tuple(property, fc.integer({ min: numeric[0], max: numeric[1] }), fc.integer({ min: numeric[0], max: numeric[1] })).map(([p, a, b]) => ({ property: p, op: "between" as const, from: Math.min(a, b), to: Math.max(a, b) })),
    fc.tuple(property, instantArb, instantArb).map(([p, a, b]) => ({ property: p, op: "between" as const, from: new Date(Math.min(a, b)).toISOString(), to: new Date(Math.max(a, b)).toISOString() })),
  );
}

const USER_PATHS = ["plan", "age", "tags", "signup", "trial_ends", "company.size", "company.name", "email", "name", "missing"];
const EVENT_PATHS = ["plan", "amount", "coupon", "tags", "at"];

const propertyLeafArb: fc.Arbitrary<PropertyCondition> = fc.oneof(
  { weight: 4, arbitrary: staticPropertyArb(USER_PATHS, [0, 100]) },
  { weight: 1, arbitrary: fc.record({ property: fc.constantFrom("signup", "trial_ends", "plan"), op: fc.constantFrom("within_last_days", "more_than_days_ago", "within_next_days"), days: daysArb }) },
);

const whereArb = fc.option(fc.array(staticPropertyArb(EVENT_PATHS, [0, 300]), { minLength: 1, maxLength: 2 }), { nil: undefined });
const eventNameArb = fc.constantFrom(...EVENT_NAMES);
const withoutUndefined = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

const eventLeafArb: fc.Arbitrary<Condition> = fc.oneof(
  fc
    .record({ event: eventNameArb, count: numberComparisonArb(0, 4), where: whereArb, withinDays: fc.option(daysArb, { nil: undefined }) })
    .map(withoutUndefined),
  fc.record({ event: eventNameArb, last: dateComparisonArb, where: whereArb }).map(withoutUndefined),
  fc.record({ event: eventNameArb, first: dateComparisonArb, where: whereArb }).map(withoutUndefined),
  fc.record({ event: eventNameArb, happened: fc.boolean(), where: whereArb }).map(withoutUndefined),
);

export function conditionArb(segmentIds: readonly string[], maxDepth = 3): fc.Arbitrary<Condition> {
  const leaf: fc.Arbitrary<Condition> = fc.oneof(
    { weight: 4, arbitrary: propertyLeafArb },
    { weight: 5, arbitrary: eventLeafArb },
    { weight: 1, arbitrary: fc.record({ score: numberComparisonArb(-10, 100) }) },
    { weight: 1, arbitrary: fc.record({ grade: textComparisonArb(["A", "B", "C", "D"]) }) },
    { weight: 1, arbitrary: fc.record({ valueClass: textComparisonArb(["AX", "BY", "CZ", "AY"]) }) },
    { weight: 1, arbitrary: fc.record({ lifecycleStage: textComparisonArb([...LIFECYCLE_STAGES]) }) },
    { weight: 1, arbitrary: fc.record({ segment: fc.constantFrom(...segmentIds) }) },
    { weight: 1, arbitrary: fc.record({ firstSeen: dateComparisonArb }) },
    { weight: 1, arbitrary: fc.record({ lastSeen: dateComparisonArb }) },
    { weight: 1, arbitrary: fc.oneof(fc.record({ identified: fc.boolean() }), fc.record({ emailKnown: fc.boolean() }), fc.record({ emailUnsubscribed: fc.boolean() })) },
  );
  const tree = fc.letrec<{ node: Condition }>((tie) => ({
    node: fc.oneof(
      { depthSize: "small", withCrossShrink: true, maxDepth },
      leaf,
      fc.record({ and: fc.array(tie("node"), { maxLength: 3 }) }),
      fc.record({ or: fc.array(tie("node"), { maxLength: 3 }) }),
      fc.record({ not: tie("node") }),
    ),
  }));
  return tree.node;
}
