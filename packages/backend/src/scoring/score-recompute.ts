import { eventMatchesFilter, type ScoringRule } from "@nurture/core";
import type { DbOrTrx } from "@nurture/db";
import { sql } from "kysely";

/**
 * Events the pipeline scores: everything on the timeline except what the rule engine emitted itself
 * (stored already processed, with a `$sys:` message id), which never reaches a processor.
 */
const SCORABLE = sql`e.processed_at IS NOT NULL AND e.message_id NOT LIKE '$sys:%'`;

export interface RecomputeResult {
  /** New score per user. */
  scores: Map<number, number>;
  /** Users whose score changed. */
  changed: number;
}

/**
 * Rebuilds the score history of these users from their processed events and the given rules, in a
 * few set-based statements, with exactly the semantics of `awardPoints` (limits counted in time
 * order, once-per-day on UTC days) and expiries up to `now`. The caller holds the users' row locks.
 *
 * Property filters are the segment language's and are evaluated by its own matcher (in JS, over the
 * few candidate events), so a filter means the same here as in the live pipeline.
 *
 * `tickChanged` asks the pipeline to re-run users whose score changed (segments, triggers read it).
 */
export async function recomputeUserScores(
  db: DbOrTrx,
  projectId: string,
  userIds: readonly number[],
  rules: readonly ScoringRule[],
  now: Date,
  options: { tickChanged: boolean },
): Promise<RecomputeResult> {
  if (userIds.length === 0) return { scores: new Map(), changed: 0 };
  const ids = [...userIds];
  const plain = rules.filter((r) => r.where === null);
  const filtered = rules.filter((r) => r.where !== null);
  const order = new Map(rules.map((r, i) => [r.id, i]));

  const pairRules: string[] = [];
  const pairEvents: number[] = [];
  if (filtered.length > 0) {
    const names = [...new Set(filtered.map((r) => r.event))];
    const candidates = await sql<{ id: number; name: string; properties: Record<string, unknown> }>`
      SELECT e.id, e.name, e.properties FROM events e
      WHERE e.project_id = ${projectId} AND e.user_id = ANY(${ids}::bigint[]) AND e.name = ANY(${names}::text[]) AND ${SCORABLE}`.execute(db);
    for (const event of candidates.rows) {
      for (const rule of filtered) {
        if (rule.event === event.name && eventMatchesFilter(event.properties, rule.where)) {
          pairRules.push(rule.id);
          pairEvents.push(event.id);
        }
      }
    }
  }

  await db.deleteFrom("score_ledger").where("user_id", "in", ids).execute();

  const ruleIds = rules.map((r) => r.id);
  const ruleOrder = rules.map((r) => order.get(r.id)!);
  if (plain.length + pairRules.length > 0) {
    // Rule settings come from the arguments (not the table) so a job applies one consistent rule set.
    await sql`
      WITH rule_set AS (
        SELECT r.id, r.event_name, r.points, r.limit_type, r.limit_times, r.expires_after_days, o.ord
        FROM unnest(${ruleIds}::uuid[], ${ruleOrder}::int[]) AS o(id, ord) JOIN scoring_rules r ON r.id = o.id
      ),
      matches AS (
        SELECT e.user_id, e.id AS event_id, e.name AS event_name, e.occurred_at, r.id, r.points, r.limit_type, r.limit_times, r.expires_after_days, r.ord
        FROM events e JOIN rule_set r ON r.event_name = e.name
        WHERE e.project_id = ${projectId} AND e.user_id = ANY(${ids}::bigint[]) AND ${SCORABLE}
          AND r.id = ANY(${plain.map((r) => r.id)}::uuid[])
        UNION ALL
        SELECT e.user_id, e.id, e.name, e.occurred_at, r.id, r.points, r.limit_type, r.limit_times, r.expires_after_days, r.ord
        FROM unnest(${pairRules}::uuid[], ${pairEvents}::bigint[]) AS f(rule_id, event_id)
        JOIN events e ON e.id = f.event_id JOIN rule_set r ON r.id = f.rule_id
      ),
      ranked AS (
        SELECT m.*,
          row_number() OVER (PARTITION BY user_id, id ORDER BY occurred_at, event_id) AS nth,
          row_number() OVER (PARTITION BY user_id, id, (occurred_at AT TIME ZONE 'UTC')::date ORDER BY occurred_at, event_id) AS nth_in_day
        FROM matches m
      ),
      awards AS (
        SELECT ranked.*, CASE WHEN expires_after_days IS NOT NULL THEN occurred_at + expires_after_days * interval '24 hours' END AS expires_at
        FROM ranked
        WHERE CASE limit_type WHEN 'once_per_user' THEN nth = 1 WHEN 'max_times' THEN nth <= limit_times WHEN 'once_per_day' THEN nth_in_day = 1 ELSE true END
      ),
      steps AS (
        SELECT user_id, 'award' AS kind, id AS rule_id, event_id, event_name, points AS delta, occurred_at AS effective_at,
               expires_at, CASE WHEN expires_at <= ${now} THEN ${now}::timestamptz END AS expired_at, 0 AS step, ord
        FROM awards
        UNION ALL
        SELECT user_id, 'expiry', id, event_id, event_name, -points, expires_at, NULL, NULL, 1, ord
        FROM awards WHERE expires_at <= ${now}
      )
      INSERT INTO score_ledger (project_id, user_id, kind, rule_id, event_id, event_name, delta, score_after, effective_at, expires_at, expired_at)
      SELECT ${projectId}, user_id, kind, rule_id, event_id, event_name, delta,
             sum(delta) OVER (PARTITION BY user_id ORDER BY effective_at, step, event_id, ord ROWS UNBOUNDED PRECEDING),
             effective_at, expires_at, expired_at
      FROM steps
      ORDER BY user_id, effective_at, step, event_id, ord`.execute(db);
  }

  const updated = await sql<{ id: number; score: number; old_score: number }>`
    WITH totals AS (
      SELECT u.id, u.score AS old_score, coalesce(sum(l.delta), 0)::int AS score,
             min(l.expires_at) FILTER (WHERE l.kind = 'award' AND l.expires_at IS NOT NULL AND l.expired_at IS NULL) AS next_expiry
      FROM users u LEFT JOIN score_ledger l ON l.user_id = u.id
      WHERE u.id = ANY(${ids}::bigint[]) AND u.project_id = ${projectId}
      GROUP BY u.id, u.score
    )
    UPDATE users SET
      score = t.score,
      next_tick_at = LEAST(users.next_tick_at, t.next_expiry, CASE WHEN ${options.tickChanged} AND t.score <> t.old_score THEN ${now}::timestamptz END)
    FROM totals t
    WHERE users.id = t.id
    RETURNING users.id, t.score, t.old_score`.execute(db);
  return {
    scores: new Map(updated.rows.map((r) => [Number(r.id), r.score])),
    changed: updated.rows.filter((r) => r.score !== r.old_score).length,
  };
}
