/**
 * For a set-based rebuild: per user, an instant at or before the earliest one at which a condition's
 * answer can change with time alone, as SQL over `users AS u` (NULL when none). Looser than the core's
 * nextChangeAt (it ignores how and/or combine, and windowed counts wake at the next UTC midnight) —
 * a wake-up that changes nothing only costs one pipeline run, which then schedules precisely.
 */
import { classifyCondition, counterKey, DAY_MS, dayKeyOfEpochDay, epochDay, type Condition, type DateComparison, type EventPropertyFilter } from "@nurture/core";
import { sql, type RawBuilder } from "kysely";
import { iso, pathSql } from "./property-sql";

type Instant = RawBuilder<Date | null>;

function relativeNext(t: RawBuilder<unknown>, cmp: { op: string; days?: number }, now: Date): Instant | null {
  const span = sql`${`${cmp.days! * DAY_MS} milliseconds`}::interval`;
  const ms1 = sql`interval '1 millisecond'`;
  const nowSql = iso(now.getTime());
  switch (cmp.op) {
    case "within_last_days":
      return sql`(CASE WHEN ${t} > ${nowSql} THEN ${t} WHEN ${t} + ${span} >= ${nowSql} THEN ${t} + ${span} + ${ms1} END)`;
    case "more_than_days_ago":
      return sql`(CASE WHEN ${t} + ${span} >= ${nowSql} THEN ${t} + ${span} + ${ms1} END)`;
    case "within_next_days":
      return sql`(CASE WHEN ${t} - ${span} > ${nowSql} THEN ${t} - ${span} WHEN ${t} >= ${nowSql} THEN ${t} + ${ms1} END)`;
    default:
      return null;
  }
}

function eventInstant(event: string, where: EventPropertyFilter[] | undefined, column: "first_at" | "last_at"): RawBuilder<unknown> {
  if (!where) return sql`(SELECT s.${sql.raw(column)} FROM event_stats s WHERE s.user_id = u.id AND s.event_name = ${event})`;
  return sql`(SELECT c.${sql.raw(column)} FROM user_counters c WHERE c.user_id = u.id AND c.counter_key = ${counterKey(event, where)})`;
}

function collect(condition: Condition, now: Date, out: Instant[]): void {
  const c = classifyCondition(condition);
  const push = (x: Instant | null): void => {
    if (x) out.push(x);
  };
  const date = (t: RawBuilder<unknown>, cmp: DateComparison): void => push(relativeNext(t, cmp, now));
  switch (c.kind) {
    case "and":
      return c.node.and.forEach((x) => collect(x, now, out));
    case "or":
      return c.node.or.forEach((x) => collect(x, now, out));
    case "not":
      return collect(c.node.not, now, out);
    case "property":
      if ("days" in c.node) push(relativeNext(sql`nurture_instant(${pathSql(sql.ref("u.properties"), c.node.property)})`, c.node, now));
      return;
    case "event_last":
      return date(eventInstant(c.node.event, c.node.where, "last_at"), c.node.last);
    case "event_first":
      return date(eventInstant(c.node.event, c.node.where, "first_at"), c.node.first);
    case "first_seen":
      return date(sql.ref("u.first_seen_at"), c.node.firstSeen);
    case "last_seen":
      return date(sql.ref("u.last_seen_at"), c.node.lastSeen);
    case "event_count": {
      if (c.node.withinDays === undefined) return;
      const today = epochDay(now.getTime());
      // Any bucket still in (or ahead of) the window can move the count at a coming midnight.
      out.push(sql`(CASE WHEN EXISTS (
        SELECT 1 FROM user_counter_days d WHERE d.user_id = u.id AND d.counter_key = ${counterKey(c.node.event, c.node.where)}
          AND d.day > ${dayKeyOfEpochDay(today - c.node.withinDays)}::date
      ) THEN ${iso((today + 1) * DAY_MS)} END)`);
      return;
    }
    default:
      return;
  }
}

/** NULL when time alone cannot change the answer for this user. */
export function nextChangeSql(conditions: readonly Condition[], now: Date): Instant | null {
  const candidates: Instant[] = [];
  for (const condition of conditions) collect(condition, now, candidates);
  if (candidates.length === 0) return null;
  return candidates.length === 1 ? candidates[0]! : sql`least(${sql.join(candidates)})`;
}
