/**
 * The condition compiled to SQL over `users AS u`, for set questions (members, previews, backfills).
 * It answers exactly like the core's in-memory evaluator on the card the backend would load — a
 * property test stores random cards and conditions and checks the two agree on every one.
 *
 * Event questions read the same aggregates the card carries: event_stats (all-time, per event name),
 * user_counters (filtered counts) and user_counter_days (windowed counts, by UTC day). A row that is
 * missing means "count 0, never"; each leaf is written as EXISTS / NOT EXISTS over those tables (so the
 * planner can use semi- and anti-joins) according to how a missing row must answer.
 */
import {
  classifyCondition,
  counterKey,
  DAY_MS,
  epochDay,
  dayKeyOfEpochDay,
  type Condition,
  type DateComparison,
  type EventPropertyFilter,
  type NumberComparison,
  type TextComparison,
} from "@nurture/core";
import { sql, type RawBuilder } from "kysely";
import { and, compareJs, compareSql, FALSE, instantSql, not, or, propertySql, TRUE, type Bool } from "./property-sql";

export interface ConditionSqlOptions {
  projectId: string;
  now: Date;
  /**
   * Counters not kept (yet) for this project: their leaves are computed from the raw events instead,
   * e.g. when previewing a draft whose filter no saved segment uses.
   */
  rawCounters?: ReadonlySet<string>;
}

const u = (column: string) => sql.ref(`u.${column}`);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The aggregate a leaf reads, as a FROM + WHERE correlated with `u`, naming total/first_at/last_at. */
interface AggregateSource {
  /** Rows exist only for users with at least one matching event. */
  rows(where: RawBuilder<unknown> | null): Bool;
  total: RawBuilder<unknown>;
  firstAt: RawBuilder<unknown>;
  lastAt: RawBuilder<unknown>;
}

function filterSql(where: EventPropertyFilter[] | undefined, now: Date): Bool {
  return where ? and(where.map((f) => propertySql(sql.ref("e.properties"), f, now))) : TRUE;
}

function source(event: string, where: EventPropertyFilter[] | undefined, opts: ConditionSqlOptions): AggregateSource {
  if (!where) {
    return {
      rows: (w) => sql<boolean>`EXISTS (SELECT 1 FROM event_stats s WHERE s.user_id = ${u("id")} AND s.event_name = ${event}${w ? sql` AND ${w}` : sql``})`,
      total: sql.ref("s.count"),
      firstAt: sql.ref("s.first_at"),
      lastAt: sql.ref("s.last_at"),
    };
  }
  const key = counterKey(event, where);
  if (!opts.rawCounters?.has(key)) {
    return {
      rows: (w) => sql<boolean>`EXISTS (SELECT 1 FROM user_counters c WHERE c.user_id = ${u("id")} AND c.counter_key = ${key}${w ? sql` AND ${w}` : sql``})`,
      total: sql.ref("c.total"),
      firstAt: sql.ref("c.first_at"),
      lastAt: sql.ref("c.last_at"),
    };
  }
  // Not kept: aggregate the raw events (the pipeline-processed ones, as a kept counter would).
  return {
    rows: (w) => sql<boolean>`EXISTS (
      SELECT 1 FROM (
        SELECT count(*) AS total, min(e.occurred_at) AS first_at, max(e.occurred_at) AS last_at
        FROM events e
        WHERE e.user_id = ${u("id")} AND e.name = ${event} AND e.type <> 'system' AND e.processed_at IS NOT NULL AND ${filterSql(where, opts.now)}
        HAVING count(*) > 0
      ) r${w ? sql` WHERE ${w}` : sql``})`,
    total: sql.ref("r.total"),
    firstAt: sql.ref("r.first_at"),
    lastAt: sql.ref("r.last_at"),
  };
}

/** A predicate over the aggregate row; `whenMissing` is how a user without a row answers. */
function aggregateLeaf(src: AggregateSource, predicate: Bool, whenMissing: boolean): Bool {
  return whenMissing ? not(src.rows(not(predicate))) : src.rows(predicate);
}

function windowedCountSql(event: string, where: EventPropertyFilter[] | undefined, days: number, cmp: NumberComparison, opts: ConditionSqlOptions): Bool {
  const today = epochDay(opts.now.getTime());
  const key = counterKey(event, where);
  const whenMissing = compareJs(0, cmp);
  let grouped: RawBuilder<unknown>;
  if (opts.rawCounters?.has(key)) {
    grouped = sql`SELECT e.user_id, count(*) AS n FROM events e
      WHERE e.project_id = ${opts.projectId} AND e.name = ${event} AND e.type <> 'system' AND e.processed_at IS NOT NULL
        AND e.occurred_at >= ${new Date((today - days + 1) * DAY_MS).toISOString()}::timestamptz
        AND e.occurred_at < ${new Date((today + 1) * DAY_MS).toISOString()}::timestamptz
        AND ${filterSql(where, opts.now)}
      GROUP BY e.user_id`;
  } else {
    grouped = sql`SELECT d.user_id, sum(d.count) AS n FROM user_counter_days d
      WHERE d.project_id = ${opts.projectId} AND d.counter_key = ${key}
        AND d.day > ${dayKeyOfEpochDay(today - days)}::date AND d.day <= ${dayKeyOfEpochDay(today)}::date
      GROUP BY d.user_id`;
  }
  const test = compareSql(sql.ref("w.n"), cmp);
  const rows = (w: Bool) => sql<boolean>`EXISTS (SELECT 1 FROM (${grouped}) w WHERE w.user_id = ${u("id")} AND ${w})`;
  return whenMissing ? not(rows(not(test))) : rows(test);
}

function textSql(column: string, cmp: TextComparison): Bool {
  const c = u(column);
  switch (cmp.op) {
    case "eq":
      return sql<boolean>`coalesce(${c} = ${cmp.value}, false)`;
    case "neq":
      return sql<boolean>`coalesce(${c} <> ${cmp.value}, true)`;
    case "in":
      return sql<boolean>`coalesce(${c} = ANY(${cmp.values}::text[]), false)`;
    case "defined":
      return sql<boolean>`(${c} IS NOT NULL)`;
    case "not_defined":
      return sql<boolean>`(${c} IS NULL)`;
  }
}

const dateSql = (t: RawBuilder<unknown>, cmp: DateComparison, now: Date) => instantSql(t, cmp, now);

/** The condition as a boolean SQL expression over `users AS u` (never NULL). */
export function conditionSql(condition: Condition, opts: ConditionSqlOptions): Bool {
  const c = classifyCondition(condition);
  switch (c.kind) {
    case "and":
      return and(c.node.and.map((x) => conditionSql(x, opts)));
    case "or":
      return or(c.node.or.map((x) => conditionSql(x, opts)));
    case "not":
      return not(conditionSql(c.node.not, opts));
    case "property":
      return propertySql(u("properties"), c.node, opts.now);
    case "event_count": {
      const { event, where, withinDays, count } = c.node;
      if (withinDays !== undefined) return windowedCountSql(event, where, withinDays, count, opts);
      const src = source(event, where, opts);
      return aggregateLeaf(src, compareSql(src.total, count), compareJs(0, count));
    }
    case "event_last": {
      const src = source(c.node.event, c.node.where, opts);
      return aggregateLeaf(src, dateSql(src.lastAt, c.node.last, opts.now), false);
    }
    case "event_first": {
      const src = source(c.node.event, c.node.where, opts);
      return aggregateLeaf(src, dateSql(src.firstAt, c.node.first, opts.now), false);
    }
    case "event_happened": {
      const rows = source(c.node.event, c.node.where, opts).rows(null);
      return c.node.happened ? rows : not(rows);
    }
    case "score":
      return compareSql(u("score"), c.node.score);
    case "grade":
      return textSql("grade", c.node.grade);
    case "value_class":
      return textSql("value_class", c.node.valueClass);
    case "lifecycle_stage":
      return textSql("lifecycle_stage", c.node.lifecycleStage);
    case "segment":
      // Not an id any segment can have: no card is a member (as in memory).
      if (!UUID.test(c.node.segment)) return FALSE;
      return sql<boolean>`EXISTS (SELECT 1 FROM segment_members m WHERE m.segment_id = ${c.node.segment}::uuid AND m.user_id = ${u("id")})`;
    case "first_seen":
      return dateSql(u("first_seen_at"), c.node.firstSeen, opts.now);
    case "last_seen":
      return dateSql(u("last_seen_at"), c.node.lastSeen, opts.now);
    case "identified":
      return c.node.identified ? sql<boolean>`(${u("user_id")} IS NOT NULL)` : sql<boolean>`(${u("user_id")} IS NULL)`;
    case "email_known": {
      const known = sql<boolean>`coalesce(jsonb_typeof(${u("properties")} -> 'email') = 'string' AND strpos(${u("properties")} ->> 'email', '@') > 0, false)`;
      return c.node.emailKnown ? known : not(known);
    }
    case "email_unsubscribed":
      return c.node.emailUnsubscribed ? sql<boolean>`(${u("email_unsubscribed_at")} IS NOT NULL)` : sql<boolean>`(${u("email_unsubscribed_at")} IS NULL)`;
  }
}

export { FALSE, TRUE };
