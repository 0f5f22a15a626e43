import type { EventCounter, LifecycleStage, UserCard } from "@nurture/core";
import { prepared, type DbOrTrx, type EventRow, type UserRow } from "@nurture/db";
import { sql, type RawBuilder } from "kysely";
import { parsePendingExpiries, pendingExpiriesSelect, type PendingExpiries } from "../scoring/score-ledger.repository";
import { segmentsCardSections } from "../segments/segment-card";
import type { CardSection } from "./pipeline.types";

const eventStatsSection: CardSection = {
  select: (userId) => sql`(SELECT coalesce(json_agg(json_build_array(event_name, count, first_at, last_at)), '[]') FROM event_stats WHERE user_id = ${userId})`,
  apply(card, value) {
    for (const [name, count, first, last] of value as [string, number, string, string][]) {
      card.eventStats[name] = { count, firstAt: new Date(first), lastAt: new Date(last) };
    }
  },
};

/** The users row and event_stats are the base; features list their sections here, all read in one query. */
const cardSections: CardSection[] = [eventStatsSection, ...segmentsCardSections];

export async function loadCard(db: DbOrTrx, user: UserRow): Promise<UserCard> {
  return (await selectCard(db, user, {})).card;
}

/** An event as json_agg spells it: timestamps as ISO strings. */
type EventJson = Omit<EventRow, "occurred_at" | "received_at" | "processed_at"> & { occurred_at: string; received_at: string; processed_at: string | null };

/** What a pipeline run reads about its user before the processors start. */
export interface RunInput {
  card: UserCard;
  /** Up to the limit of the user's unprocessed events, in time order. */
  events: EventRow[];
  expiries: PendingExpiries;
}

/**
 * Everything a run reads up front, in one round trip: the card, up to `eventLimit` unprocessed
 * events, and the score's pending expiries.
 */
export async function loadRun(db: DbOrTrx, user: UserRow, now: Date, eventLimit: number): Promise<RunInput> {
  const { card, row } = await selectCard(db, user, {
    events: sql`(SELECT coalesce(json_agg(e ORDER BY e.occurred_at, e.id), '[]') FROM (
        SELECT * FROM events WHERE user_id = ${user.id} AND processed_at IS NULL ORDER BY occurred_at, id LIMIT ${eventLimit}
      ) AS e)`,
    expiries: pendingExpiriesSelect(user.id, now),
  });
  return {
    card,
    events: (row.events as EventJson[]).map((e) => ({
      ...e,
      occurred_at: new Date(e.occurred_at),
      received_at: new Date(e.received_at),
      processed_at: e.processed_at === null ? null : new Date(e.processed_at),
    })),
    expiries: parsePendingExpiries(row.expiries, now),
  };
}

/** The card's sections and any `extra` columns, in one statement. */
async function selectCard(db: DbOrTrx, user: UserRow, extra: Record<string, RawBuilder<unknown>>): Promise<{ card: UserCard; row: Record<string, unknown> }> {
  const card: UserCard = {
    id: user.id,
    userId: user.user_id,
    properties: user.properties,
    firstSeenAt: user.first_seen_at,
    lastSeenAt: user.last_seen_at,
    eventStats: {},
    counters: {} as Record<string, EventCounter>,
    score: user.score,
    grade: user.grade,
    valueClass: user.value_class,
    lifecycleStage: user.lifecycle_stage as LifecycleStage | null,
    segmentIds: [],
    emailUnsubscribed: user.email_unsubscribed_at !== null,
  };
  const columns = [
    ...cardSections.map((s, i) => sql`${s.select(user.id)} AS ${sql.ref(`s${i}`)}`),
    ...Object.entries(extra).map(([name, select]) => sql`${select} AS ${sql.ref(name)}`),
  ];
  const row = (await prepared(sql<Record<string, unknown>>`SELECT ${sql.join(columns)}`, 1).execute(db)).rows[0]!;
  cardSections.forEach((s, i) => s.apply(card, row[`s${i}`]));
  return { card, row };
}
