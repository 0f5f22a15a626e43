import type { LifecycleStage, UserCard } from "@nurture/core";
import type { DbOrTrx, UserRow } from "@nurture/db";
import { loadSegmentsCardSection } from "../segments/segment-card";
import { loadEventStats } from "../users/users.repository";

/** Fills the card fields a feature keeps in its own tables (counters, segment membership). */
export type CardSectionLoader = (db: DbOrTrx, user: UserRow, card: UserCard) => Promise<void>;

/** The users row and event_stats are the base; features list their loaders here. */
const cardSectionLoaders: CardSectionLoader[] = [loadSegmentsCardSection];

export async function loadCard(db: DbOrTrx, user: UserRow): Promise<UserCard> {
  const card: UserCard = {
    id: user.id,
    userId: user.user_id,
    properties: user.properties,
    firstSeenAt: user.first_seen_at,
    lastSeenAt: user.last_seen_at,
    eventStats: await loadEventStats(db, user.id),
    counters: {},
    score: user.score,
    grade: user.grade,
    valueClass: user.value_class,
    lifecycleStage: user.lifecycle_stage as LifecycleStage | null,
    segmentIds: [],
    emailUnsubscribed: user.email_unsubscribed_at !== null,
  };
  for (const load of cardSectionLoaders) await load(db, user, card);
  return card;
}
