import { utcDay, type AwardHistory, type ScoringRule } from "@nurture/core";
import type { DbOrTrx } from "@nurture/db";
import { sql, type RawBuilder } from "kysely";
import { decodeCursor, encodeCursor, type Page } from "../users/users.repository";

export interface LedgerEntry {
  kind: "award" | "expiry";
  ruleId: string;
  eventId: number;
  eventName: string;
  delta: number;
  scoreAfter: number;
  effectiveAt: Date;
  expiresAt: Date | null;
  /** Set on an award whose expiry is written in the same run. */
  expiredAt: Date | null;
}

/**
 * What the limits of these rules need from the user's past awards: counts for per-user limits, and
 * the award days among `days` for once-per-day rules.
 */
export async function loadAwardHistory(db: DbOrTrx, userId: number, rules: readonly ScoringRule[], days: readonly string[]): Promise<AwardHistory> {
  const counted = rules.filter((r) => r.limit.type === "once_per_user" || r.limit.type === "max_times").map((r) => r.id);
  const daily = rules.filter((r) => r.limit.type === "once_per_day").map((r) => r.id);
  const history: AwardHistory = { counts: {}, days: {} };
  if (counted.length > 0) {
    const rows = await db
      .selectFrom("score_ledger")
      .select(["rule_id", (eb) => eb.fn.countAll<number>().as("n")])
      .where("user_id", "=", userId)
      .where("kind", "=", "award")
      .where("rule_id", "in", counted)
      .groupBy("rule_id")
      .execute();
    for (const r of rows) history.counts[r.rule_id] = Number(r.n);
  }
  if (daily.length > 0 && days.length > 0) {
    const sorted = [...days].sort();
    const from = new Date(`${sorted[0]}T00:00:00Z`);
    const to = new Date(new Date(`${sorted[sorted.length - 1]}T00:00:00Z`).getTime() + 86_400_000);
    const rows = await db
      .selectFrom("score_ledger")
      .select(["rule_id", "effective_at"])
      .where("user_id", "=", userId)
      .where("kind", "=", "award")
      .where("rule_id", "in", daily)
      .where("effective_at", ">=", from)
      .where("effective_at", "<", to)
      .execute();
    const perRule: Record<string, Set<string>> = {};
    for (const r of rows) (perRule[r.rule_id] ??= new Set()).add(utcDay(r.effective_at));
    for (const [ruleId, set] of Object.entries(perRule)) history.days[ruleId] = [...set];
  }
  return history;
}

/** (rule, event) pairs among these events that already have an award: never award them again. */
export async function existingAwards(db: DbOrTrx, ruleIds: readonly string[], eventIds: readonly number[]): Promise<Set<string>> {
  if (ruleIds.length === 0 || eventIds.length === 0) return new Set();
  const rows = await db
    .selectFrom("score_ledger")
    .select(["rule_id", "event_id"])
    .where("kind", "=", "award")
    .where("event_id", "in", [...eventIds])
    .where("rule_id", "in", [...ruleIds])
    .execute();
  return new Set(rows.map((r) => `${r.rule_id}:${r.event_id}`));
}

export interface DueExpiry {
  id: number;
  ruleId: string;
  eventId: number;
  eventName: string;
  points: number;
  expiresAt: Date;
}

export interface PendingExpiries {
  due: DueExpiry[];
  next: Date | null;
}

/**
 * Awards whose points stop counting at or before `now` and have not been taken back yet (earliest
 * first), and the first pending expiry after `now`, on the pending-expiry index: a JSON expression
 * the pipeline reads in the same round trip as the card (parse it with parsePendingExpiries).
 */
export function pendingExpiriesSelect(userId: number, now: Date): RawBuilder<unknown> {
  return sql`(SELECT coalesce(json_agg(json_build_array(x.id, x.rule_id, x.event_id, x.event_name, x.delta, x.expires_at) ORDER BY x.expires_at, x.id), '[]') FROM (
    (SELECT id, rule_id, event_id, event_name, delta, expires_at FROM score_ledger
     WHERE user_id = ${userId} AND kind = 'award' AND expires_at IS NOT NULL AND expired_at IS NULL AND expires_at <= ${now}
     ORDER BY expires_at, id)
    UNION ALL
    (SELECT id, rule_id, event_id, event_name, delta, expires_at FROM score_ledger
     WHERE user_id = ${userId} AND kind = 'award' AND expires_at IS NOT NULL AND expired_at IS NULL AND expires_at > ${now}
     ORDER BY expires_at LIMIT 1)) AS x)`;
}

export function parsePendingExpiries(value: unknown, now: Date): PendingExpiries {
  const due: DueExpiry[] = [];
  let next: Date | null = null;
  for (const [id, ruleId, eventId, eventName, delta, expiresAt] of value as [number, string, number, string, number, string][]) {
    const at = new Date(expiresAt);
    if (at.getTime() <= now.getTime()) due.push({ id, ruleId, eventId, eventName, points: delta, expiresAt: at });
    else next = at;
  }
  return { due, next };
}

export async function markExpired(db: DbOrTrx, awardIds: readonly number[], now: Date): Promise<void> {
  if (awardIds.length === 0) return;
  await db.updateTable("score_ledger").set({ expired_at: now }).where("id", "in", [...awardIds]).execute();
}

/** When the user's score next drops by itself (the earliest pending expiry), or null. */
export async function nextPendingExpiry(db: DbOrTrx, userId: number): Promise<Date | null> {
  const row = await db
    .selectFrom("score_ledger")
    .select((eb) => eb.fn.min("expires_at").as("at"))
    .where("user_id", "=", userId)
    .where("kind", "=", "award")
    .where("expires_at", "is not", null)
    .where("expired_at", "is", null)
    .executeTakeFirst();
  return (row?.at as Date | null | undefined) ?? null;
}

/**
 * Writes changes in the order given (ids follow it, so history reads back in the same order). The
 * unique (rule, event, kind) key makes a duplicate a no-op; the caller has already excluded pairs
 * that exist, so under the user's row lock every row is new.
 */
export async function insertLedgerEntries(db: DbOrTrx, projectId: string, userId: number, entries: readonly LedgerEntry[]): Promise<number> {
  if (entries.length === 0) return 0;
  const result = await db
    .insertInto("score_ledger")
    .values(
      entries.map((e) => ({
        project_id: projectId,
        user_id: userId,
        kind: e.kind,
        rule_id: e.ruleId,
        event_id: e.eventId,
        event_name: e.eventName,
        delta: e.delta,
        score_after: e.scoreAfter,
        effective_at: e.effectiveAt,
        expires_at: e.expiresAt,
        expired_at: e.expiredAt,
      })),
    )
    .onConflict((oc) => oc.columns(["rule_id", "event_id", "kind"]).doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0);
}

export interface ScoreHistoryItem {
  id: string;
  at: Date;
  kind: "award" | "expiry";
  event: string;
  eventId: string;
  ruleId: string;
  rule: string;
  delta: number;
  score: number;
  expiresAt: Date | null;
}

/** The user's score changes, newest first, keyset-paged on id. */
export async function scoreHistory(db: DbOrTrx, userId: number, options: { limit: number; cursor?: string }): Promise<Page<ScoreHistoryItem>> {
  const after = decodeCursor(options.cursor) as [number] | undefined;
  let q = db
    .selectFrom("score_ledger as l")
    .innerJoin("scoring_rules as r", "r.id", "l.rule_id")
    .select(["l.id", "l.kind", "l.event_id", "l.event_name", "l.rule_id", "r.name as rule_name", "l.delta", "l.score_after", "l.effective_at", "l.expires_at"])
    .where("l.user_id", "=", userId);
  if (after && typeof after[0] === "number") q = q.where("l.id", "<", after[0]);
  const rows = await q.orderBy("l.id", "desc").limit(options.limit + 1).execute();
  const items = rows.slice(0, options.limit).map((r) => ({
    id: String(r.id),
    at: r.effective_at,
    kind: r.kind,
    event: r.event_name,
    eventId: String(r.event_id),
    ruleId: r.rule_id,
    rule: r.rule_name,
    delta: r.delta,
    score: r.score_after,
    expiresAt: r.expires_at,
  }));
  const last = rows.length > options.limit ? items[items.length - 1] : undefined;
  return { items, nextCursor: last ? encodeCursor([Number(last.id)]) : null };
}

/** users.score is the sum of the ledger; this recounts it (checks and repairs). */
export async function ledgerTotal(db: DbOrTrx, userId: number): Promise<number> {
  const row = await sql<{ total: number | null }>`SELECT sum(delta)::int AS total FROM score_ledger WHERE user_id = ${userId}`.execute(db);
  return row.rows[0]?.total ?? 0;
}
