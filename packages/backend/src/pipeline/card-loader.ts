import type { EventCounter, LifecycleStage, PriorSeries, UserCard } from "@nurture/core";
import { prepared, type DbOrTrx, type EventRow, type UserRow } from "@nurture/db";
import { sql, type RawBuilder } from "kysely";
import { parsePriorSeriesByCampaign, priorSeriesForEventsSelect } from "../messaging/messages.repository";
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
  const row = (await cardQuery(user.id, {}).execute(db)).rows[0]!;
  return cardFrom(user, row);
}

/** An event as json_agg spells it: timestamps as ISO strings. */
type EventJson = Omit<EventRow, "occurred_at" | "received_at" | "processed_at"> & { occurred_at: string; received_at: string; processed_at: string | null };

/** What a pipeline run reads about its user before the processors start. */
export interface RunInput {
  card: UserCard;
  /** Up to the limit of the user's unprocessed events, in time order. */
  events: EventRow[];
  expiries: PendingExpiries;
  /** The prior series of the active campaigns the unprocessed events may trigger (see priorSeriesForEventsSelect). */
  priorSeries: Map<string, PriorSeries[]>;
}

/** The user's unprocessed events, oldest first (the partial index events_unprocessed_user serves it). */
const unprocessed = (userId: number, limit: number) => sql`SELECT * FROM events WHERE user_id = ${userId} AND processed_at IS NULL ORDER BY occurred_at, id LIMIT ${limit}`;

/**
 * The statement reading everything a run needs up front: the card, up to `eventLimit` unprocessed
 * events, the score's pending expiries and the prior series of campaigns those events may
 * trigger. It needs only ids, so it can go out together with the statement locking the user's row
 * (see processUser); `readRun` makes the run's input of its row.
 */
export function runQuery(projectId: string, userId: number, now: Date, eventLimit: number): RawBuilder<Record<string, unknown>> {
  return cardQuery(userId, {
    events: sql`(SELECT coalesce(json_agg(e ORDER BY e.occurred_at, e.id), '[]') FROM (${unprocessed(userId, eventLimit)}) AS e)`,
    expiries: pendingExpiriesSelect(userId, now),
    series: priorSeriesForEventsSelect(projectId, userId, sql`SELECT DISTINCT e.name FROM (${unprocessed(userId, eventLimit)}) AS e`),
  });
}

export function readRun(user: UserRow, row: Record<string, unknown>, now: Date): RunInput {
  return {
    card: cardFrom(user, row),
    events: (row.events as EventJson[]).map((e) => ({
      ...e,
      occurred_at: new Date(e.occurred_at),
      received_at: new Date(e.received_at),
      processed_at: e.processed_at === null ? null : new Date(e.processed_at),
    })),
    expiries: parsePendingExpiries(row.expiries, now),
    priorSeries: parsePriorSeriesByCampaign(row.series),
  };
}

/** The card's sections and any `extra` columns, in one statement. */
function cardQuery(userId: number, extra: Record<string, RawBuilder<unknown>>): RawBuilder<Record<string, unknown>> {
  const columns = [
    ...cardSections.map((s, i) => sql`${s.select(userId)} AS ${sql.ref(`s${i}`)}`),
    ...Object.entries(extra).map(([name, select]) => sql`${select} AS ${sql.ref(name)}`),
  ];
  return prepared(sql<Record<string, unknown>>`SELECT ${sql.join(columns)}`, 1);
}

/** The card of a users row and the sections `cardQuery` read. */
function cardFrom(user: UserRow, row: Record<string, unknown>): UserCard {
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
  cardSections.forEach((s, i) => s.apply(card, row[`s${i}`]));
  return card;
}
