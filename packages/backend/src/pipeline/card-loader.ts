import type { EventCounter, LifecycleStage, UserCard } from "@nurture/core";
import type { DbOrTrx, UserRow } from "@nurture/db";
import { sql } from "kysely";
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
  const columns = cardSections.map((s, i) => sql`${s.select(user.id)} AS ${sql.ref(`s${i}`)}`);
  const row = (await sql<Record<string, unknown>>`SELECT ${sql.join(columns)}`.execute(db)).rows[0]!;
  cardSections.forEach((s, i) => s.apply(card, row[`s${i}`]));
  return card;
}
