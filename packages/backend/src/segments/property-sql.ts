/**
 * Property leaves as SQL over a jsonb column (users.properties or events.properties). Each function
 * mirrors the core's value semantics (condition-values.ts) and returns a boolean that is never NULL,
 * so `NOT` of it is always the negation the in-memory evaluator computes.
 */
import { DAY_MS, parseIsoDate, splitPropertyPath, type NumberComparison, type PropertyCondition, type Scalar } from "@nurture/core";
import { sql, type RawBuilder } from "kysely";

export type Bool = RawBuilder<boolean>;
export const TRUE: Bool = sql<boolean>`true`;
export const FALSE: Bool = sql<boolean>`false`;

export const not = (x: Bool): Bool => sql<boolean>`(NOT ${x})`;
export const and = (xs: Bool[]): Bool => (xs.length === 0 ? TRUE : sql<boolean>`(${sql.join(xs, sql` AND `)})`);
export const or = (xs: Bool[]): Bool => (xs.length === 0 ? FALSE : sql<boolean>`(${sql.join(xs, sql` OR `)})`);

export const iso = (ms: number) => sql`${new Date(ms).toISOString()}::timestamptz`;
const jsonb = (value: unknown) => sql`${JSON.stringify(value)}::jsonb`;

/** `base -> 'a' -> 'b'`: text keys only, so arrays are never indexed (like readPath). */
export function pathSql(base: RawBuilder<unknown>, property: string): RawBuilder<unknown> {
  return splitPropertyPath(property).reduce<RawBuilder<unknown>>((acc, segment) => sql`(${acc} -> ${segment}::text)`, base);
}

const OPS = { eq: "=", neq: "<>", gt: ">", gte: ">=", lt: "<", lte: "<=" } as const;

/**
 * A number comparison over a non-NULL SQL expression. Whole constants are bigint so an integer column
 * (counts, score) is compared as it is stored — indexable, and estimated from its statistics.
 */
export function compareSql(expr: RawBuilder<unknown>, cmp: NumberComparison): Bool {
  const constant = (n: number) => (Number.isSafeInteger(n) ? sql`${String(n)}::bigint` : sql`${String(n)}::numeric`);
  if (cmp.op === "between") return sql<boolean>`(${expr} >= ${constant(cmp.from)} AND ${expr} <= ${constant(cmp.to)})`;
  return sql<boolean>`(${expr} ${sql.raw(OPS[cmp.op])} ${constant(cmp.value)})`;
}

/** The same comparison in JavaScript, to decide how a missing row (count 0) answers. */
export function compareJs(x: number, cmp: NumberComparison): boolean {
  switch (cmp.op) {
    case "eq":
      return x === cmp.value;
    case "neq":
      return x !== cmp.value;
    case "gt":
      return x > cmp.value;
    case "gte":
      return x >= cmp.value;
    case "lt":
      return x < cmp.value;
    case "lte":
      return x <= cmp.value;
    case "between":
      return x >= cmp.from && x <= cmp.to;
  }
}

/** An instant comparison: `t` may be NULL (then false). Relative forms use `now` as a constant. */
export function instantSql(
  t: RawBuilder<unknown>,
  cmp: { op: string; value?: string; from?: string; to?: string; days?: number },
  now: Date,
): Bool {
  const nowMs = now.getTime();
  const at = (text: string) => iso(parseIsoDate(text)!);
  let test: RawBuilder<unknown>;
  switch (cmp.op) {
    case "gt":
    case "gte":
    case "lt":
    case "lte":
      test = sql`${t} ${sql.raw(OPS[cmp.op as keyof typeof OPS])} ${at(cmp.value!)}`;
      break;
    case "between":
      test = sql`${t} >= ${at(cmp.from!)} AND ${t} <= ${at(cmp.to!)}`;
      break;
    case "within_last_days":
      test = sql`${t} >= ${iso(nowMs - cmp.days! * DAY_MS)} AND ${t} <= ${iso(nowMs)}`;
      break;
    case "more_than_days_ago":
      test = sql`${t} < ${iso(nowMs - cmp.days! * DAY_MS)}`;
      break;
    case "within_next_days":
      test = sql`${t} >= ${iso(nowMs)} AND ${t} <= ${iso(nowMs + cmp.days! * DAY_MS)}`;
      break;
    default:
      throw new Error(`unknown date comparison ${cmp.op}`);
  }
  return sql<boolean>`coalesce(${test}, false)`;
}

const scalarTypes = (value: Scalar) => (typeof value === "string" ? "string" : typeof value === "number" ? "number" : "boolean");

/** A property leaf over `base` (a jsonb expression). */
export function propertySql(base: RawBuilder<unknown>, leaf: PropertyCondition, now: Date): Bool {
  const p = pathSql(base, leaf.property);
  switch (leaf.op) {
    case "defined":
      return sql<boolean>`coalesce(jsonb_typeof(${p}) <> 'null', false)`;
    case "not_defined":
      return sql<boolean>`coalesce(jsonb_typeof(${p}) = 'null', true)`;
    case "eq":
      return sql<boolean>`coalesce(${p} = ${jsonb(leaf.value)}, false)`;
    case "neq":
      return sql<boolean>`coalesce(${p} <> ${jsonb(leaf.value)}, true)`;
    case "contains":
      if (scalarTypes(leaf.value) === "string") {
        return sql<boolean>`(CASE jsonb_typeof(${p}) WHEN 'string' THEN strpos(${p} #>> '{}', ${leaf.value}::text) > 0 WHEN 'array' THEN ${p} @> ${jsonb([leaf.value])} ELSE false END)`;
      }
      return sql<boolean>`(CASE jsonb_typeof(${p}) WHEN 'array' THEN ${p} @> ${jsonb([leaf.value])} ELSE false END)`;
    case "in":
      return sql<boolean>`coalesce(${p} = ANY(${leaf.values.map((v) => JSON.stringify(v))}::jsonb[]), false)`;
    case "gt":
    case "gte":
    case "lt":
    case "lte":
      if (typeof leaf.value === "number") {
        return sql<boolean>`(CASE WHEN jsonb_typeof(${p}) = 'number' THEN ${compareSql(sql`(${p})::numeric`, { op: leaf.op, value: leaf.value })} ELSE false END)`;
      }
      return instantSql(sql`nurture_instant(${p})`, { op: leaf.op, value: leaf.value }, now);
    case "between":
      if (typeof leaf.from === "number" && typeof leaf.to === "number") {
        return sql<boolean>`(CASE WHEN jsonb_typeof(${p}) = 'number' THEN ${compareSql(sql`(${p})::numeric`, { op: "between", from: leaf.from, to: leaf.to })} ELSE false END)`;
      }
      return instantSql(sql`nurture_instant(${p})`, { op: "between", from: String(leaf.from), to: String(leaf.to) }, now);
    case "within_last_days":
    case "more_than_days_ago":
    case "within_next_days":
      return instantSql(sql`nurture_instant(${p})`, { op: leaf.op, days: leaf.days }, now);
  }
}
