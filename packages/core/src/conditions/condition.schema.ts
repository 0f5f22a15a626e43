import { z } from "zod";
import { isSafeKey } from "../json-safety";
import { CONDITION_LIMITS as L, type Condition, type EventPropertyFilter, type PropertyCondition } from "./condition.types";
import { parseIsoDate } from "./condition-values";

// PostgreSQL text cannot hold NUL nor lone surrogates; refusing them here keeps both evaluators equal.
const storable = (s: string) => s.isWellFormed() && !s.includes("\u0000");

const text = (min: number) =>
  z.string().min(min).max(L.maxStringLength).refine(storable, "must be valid Unicode text without NUL characters");

const name = z.string().min(1).max(L.maxNameLength).refine(storable, "must be valid Unicode text without NUL characters");

const propertyPath = name.refine(
  (path) => {
    const segments = path.split(".");
    return segments.length <= L.maxPathSegments && segments.every((s) => s.length > 0 && isSafeKey(s));
  },
  `must be a property name or a dotted path of at most ${L.maxPathSegments} non-empty names (e.g. "company.plan")`,
);

const scalar = z.union([text(0), z.number(), z.boolean()], { error: "must be a string, a number or true/false" });
const isoDate = z.string().refine((s) => parseIsoDate(s) !== null, "must be an ISO 8601 date such as 2024-05-01 or 2024-05-01T10:00:00Z");
const numberOrDate = z.union([z.number(), isoDate], { error: "must be a number or an ISO 8601 date" });
const days = z.number().int().min(1).max(L.maxDays);
const list = <T extends z.ZodType>(item: T) => z.array(item).min(1).max(L.maxListValues);

function rangeCheck(kind: "number" | "date" | "either") {
  return (range: { from: unknown; to: unknown }, ctx: z.RefinementCtx) => {
    const { from, to } = range;
    if (kind === "either" && typeof from !== typeof to) {
      ctx.addIssue({ code: "custom", path: ["to"], message: "must be of the same kind as `from` (both numbers or both dates)" });
      return;
    }
    const a = typeof from === "string" ? parseIsoDate(from) : (from as number);
    const b = typeof to === "string" ? parseIsoDate(to) : (to as number);
    if (a !== null && b !== null && a > b) ctx.addIssue({ code: "custom", path: ["to"], message: "must not be before `from`" });
  };
}

const opError = (ops: readonly string[]) => ({ error: `op must be one of: ${ops.join(", ")}` });

const numberComparison = z.discriminatedUnion(
  "op",
  [
    z.strictObject({ op: z.enum(["eq", "neq", "gt", "gte", "lt", "lte"]), value: z.number() }),
    z.strictObject({ op: z.literal("between"), from: z.number(), to: z.number() }).superRefine(rangeCheck("number")),
  ],
  opError(["eq", "neq", "gt", "gte", "lt", "lte", "between"]),
);
const countComparison = z.discriminatedUnion(
  "op",
  [
    z.strictObject({ op: z.enum(["eq", "neq", "gt", "gte", "lt", "lte"]), value: z.number().int().min(0) }),
    z.strictObject({ op: z.literal("between"), from: z.number().int().min(0), to: z.number().int().min(0) }).superRefine(rangeCheck("number")),
  ],
  opError(["eq", "neq", "gt", "gte", "lt", "lte", "between"]),
);
const relativeOps = ["within_last_days", "more_than_days_ago", "within_next_days"] as const;
const dateComparison = z.discriminatedUnion(
  "op",
  [
    z.strictObject({ op: z.enum(["gt", "gte", "lt", "lte"]), value: isoDate }),
    z.strictObject({ op: z.literal("between"), from: isoDate, to: isoDate }).superRefine(rangeCheck("date")),
    z.strictObject({ op: z.enum(relativeOps), days }),
  ],
  opError(["gt", "gte", "lt", "lte", "between", ...relativeOps]),
);
const textComparison = z.discriminatedUnion(
  "op",
  [
    z.strictObject({ op: z.enum(["eq", "neq"]), value: text(1) }),
    z.strictObject({ op: z.literal("in"), values: list(text(1)) }),
    z.strictObject({ op: z.enum(["defined", "not_defined"]) }),
  ],
  opError(["eq", "neq", "in", "defined", "not_defined"]),
);

const staticPropertyVariants = [
  z.strictObject({ property: propertyPath, op: z.enum(["defined", "not_defined"]) }),
  z.strictObject({ property: propertyPath, op: z.enum(["eq", "neq"]), value: scalar }),
  z.strictObject({ property: propertyPath, op: z.literal("contains"), value: z.union([text(1), z.number(), z.boolean()], { error: "must be a non-empty string, a number or true/false" }) }),
  z.strictObject({ property: propertyPath, op: z.literal("in"), values: list(scalar) }),
  z.strictObject({ property: propertyPath, op: z.enum(["gt", "gte", "lt", "lte"]), value: numberOrDate }),
  z.strictObject({ property: propertyPath, op: z.literal("between"), from: numberOrDate, to: numberOrDate }).superRefine(rangeCheck("either")),
] as const;
const staticOps = ["defined", "not_defined", "eq", "neq", "contains", "in", "gt", "gte", "lt", "lte", "between"];

const propertyCondition = z.discriminatedUnion(
  "op",
  [...staticPropertyVariants, z.strictObject({ property: propertyPath, op: z.enum(relativeOps), days })],
  opError([...staticOps, ...relativeOps]),
);
/** Event filters are checked once, at ingestion, so they may not depend on the clock. */
export const eventPropertyFilterSchema = z.discriminatedUnion("op", [...staticPropertyVariants], opError(staticOps));
const where = z.array(eventPropertyFilterSchema).min(1).max(L.maxEventFilters).optional();

const eventVariants = {
  count: z.strictObject({ event: name, count: countComparison, where, withinDays: z.number().int().min(1).max(L.maxWindowDays).optional() }),
  last: z.strictObject({ event: name, last: dateComparison, where }),
  first: z.strictObject({ event: name, first: dateComparison, where }),
  happened: z.strictObject({ event: name, happened: z.boolean(), where }),
} as const;

const leafSchemas: Record<string, z.ZodType> = {
  property: propertyCondition,
  score: z.strictObject({ score: numberComparison }),
  grade: z.strictObject({ grade: textComparison }),
  valueClass: z.strictObject({ valueClass: textComparison }),
  lifecycleStage: z.strictObject({ lifecycleStage: textComparison }),
  segment: z.strictObject({ segment: name }),
  firstSeen: z.strictObject({ firstSeen: dateComparison }),
  lastSeen: z.strictObject({ lastSeen: dateComparison }),
  identified: z.strictObject({ identified: z.boolean() }),
  emailKnown: z.strictObject({ emailKnown: z.boolean() }),
  emailUnsubscribed: z.strictObject({ emailUnsubscribed: z.boolean() }),
};
const HEADS = ["and", "or", "not", "event", ...Object.keys(leafSchemas)];

export interface ConditionError {
  /** Dotted path of the offending node or field, e.g. "and.2.count.value"; "" is the root. */
  path: string;
  pathSegments: (string | number)[];
  message: string;
}
export type ConditionValidation = { ok: true; condition: Condition } | { ok: false; errors: ConditionError[] };

export const formatConditionPath = (segments: readonly (string | number)[]): string => segments.join(".");

interface WalkState {
  nodes: number;
  errors: ConditionError[];
}

function fail(state: WalkState, path: (string | number)[], message: string): undefined {
  state.errors.push({ path: formatConditionPath(path), pathSegments: path, message });
  return undefined;
}

function parseWith<T>(schema: z.ZodType<T>, input: unknown, path: (string | number)[], state: WalkState): T | undefined {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  for (const issue of result.error.issues) {
    fail(state, [...path, ...(issue.path as (string | number)[])], issue.message);
  }
  return undefined;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

function walk(input: unknown, path: (string | number)[], depth: number, state: WalkState): Condition | undefined {
  state.nodes += 1;
  if (state.nodes === L.maxNodes + 1) return fail(state, path, `too many conditions: at most ${L.maxNodes} nodes`);
  if (state.nodes > L.maxNodes) return undefined;
  if (depth > L.maxDepth) return fail(state, path, `nested too deeply: at most ${L.maxDepth} levels`);
  if (!isPlainObject(input)) return fail(state, path, "must be a condition object");
  const heads = HEADS.filter((h) => Object.hasOwn(input, h));
  if (heads.length === 0) return fail(state, path, `unknown condition: expected one of ${HEADS.join(", ")}`);
  if (heads.length > 1) return fail(state, path, `a condition asks one thing; ${heads.join(" and ")} given together (combine them with "and")`);
  const head = heads[0]!;

  if (head === "and" || head === "or") {
    const node = parseWith(z.strictObject({ [head]: z.array(z.unknown()).max(L.maxChildren) }), input, path, state);
    if (!node) return undefined;
    const children = (node[head] as unknown[]).map((child, i) => walk(child, [...path, head, i], depth + 1, state));
    if (children.some((c) => c === undefined)) return undefined;
    return (head === "and" ? { and: children } : { or: children }) as Condition;
  }
  if (head === "not") {
    const node = parseWith(z.strictObject({ not: z.unknown() }), input, path, state);
    if (!node) return undefined;
    const child = walk(node.not, [...path, "not"], depth + 1, state);
    return child && { not: child };
  }
  if (head === "event") {
    const variants = (Object.keys(eventVariants) as (keyof typeof eventVariants)[]).filter((k) => Object.hasOwn(input, k));
    if (variants.length !== 1) {
      return fail(state, path, `an event condition needs exactly one of count, last, first, happened${variants.length ? ` (got ${variants.join(", ")})` : ""}`);
    }
    return parseWith(eventVariants[variants[0]!] as z.ZodType<Condition>, input, path, state);
  }
  return parseWith(leafSchemas[head] as z.ZodType<Condition>, input, path, state);
}

/** Checks a condition a marketer wrote; every error names the offending node by its path. */
export function validateCondition(input: unknown): ConditionValidation {
  const state: WalkState = { nodes: 0, errors: [] };
  const condition = walk(input, [], 1, state);
  if (condition && state.errors.length === 0) return { ok: true, condition };
  return { ok: false, errors: state.errors };
}

/**
 * The condition as an API field: use it in route schemas (`body: z.object({ condition: conditionSchema })`)
 * so an invalid condition comes back as a 400 naming the bad node ("condition.and.2.count.value").
 */
export const conditionSchema = z
  .unknown()
  .transform((input, ctx): Condition => {
    const result = validateCondition(input);
    if (result.ok) return result.condition;
    for (const error of result.errors) ctx.issues.push({ code: "custom", path: error.pathSegments, message: error.message, input });
    return z.NEVER;
  })
  .meta({
    description:
      "A segment condition: { and: [...] } | { or: [...] } | { not: {...} } | a leaf. Leaves: " +
      '{ property: "plan", op: "eq", value: "pro" } (ops defined, not_defined, eq, neq, contains, in, gt, gte, lt, lte, between, within_last_days, more_than_days_ago, within_next_days); ' +
      '{ event: "order_paid", count: { op: "gte", value: 3 }, where?: [property filters], withinDays?: 30 }; ' +
      '{ event, last: { op: "within_last_days", days: 14 } }; { event, first: {...} }; { event, happened: false }; ' +
      '{ score: { op: "gte", value: 50 } }; { grade: { op: "in", values: ["A"] } }; { valueClass: {...} }; { lifecycleStage: { op: "eq", value: "engaged" } }; ' +
      '{ segment: "<segment id>" }; { firstSeen: {...} }; { lastSeen: {...} }; { identified: true }; { emailKnown: true }; { emailUnsubscribed: false }.',
    examples: [
      { and: [{ event: "checkout_started", count: { op: "gte", value: 1 }, withinDays: 7 }, { event: "order_paid", happened: false }] },
    ],
  });

// Compile-time check that the schemas produce the hand-written types.
type _PropertyCheck = z.infer<typeof propertyCondition> extends PropertyCondition ? true : never;
type _FilterCheck = z.infer<typeof eventPropertyFilterSchema> extends EventPropertyFilter ? true : never;
const _schemaTypeChecks: [_PropertyCheck, _FilterCheck] = [true, true];
