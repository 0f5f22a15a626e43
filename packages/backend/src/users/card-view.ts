import type { DbOrTrx, UserRow } from "@nurture/db";
import { messagesCardSection } from "../messaging/messages-card-section";
import { scoringCardSection } from "../scoring/scoring-card-view";
import { segmentsCardView } from "../segments/segment-card";
import { loadAnonymousIds, loadEventStats } from "./users.repository";

/**
 * A section of the user card as the API shows it, kept by a feature in its own tables
 * (segments, score history, messages). Features add theirs to `cardViewSections`.
 */
export type CardViewSection = (db: DbOrTrx, user: UserRow) => Promise<Record<string, unknown>>;

const cardViewSections: CardViewSection[] = [scoringCardSection, segmentsCardView, messagesCardSection];

export async function buildCardView(db: DbOrTrx, user: UserRow): Promise<Record<string, unknown>> {
  const [anonymousIds, eventStats, ...sections] = await Promise.all([
    loadAnonymousIds(db, user.id),
    loadEventStats(db, user.id),
    ...cardViewSections.map((section) => section(db, user)),
  ]);
  return {
    id: String(user.id),
    userId: user.user_id,
    anonymousIds,
    properties: user.properties,
    firstSeenAt: user.first_seen_at,
    lastSeenAt: user.last_seen_at,
    eventStats,
    score: user.score,
    grade: user.grade,
    valueClass: user.value_class,
    lifecycleStage: user.lifecycle_stage,
    emailUnsubscribed: user.email_unsubscribed_at !== null,
    ...Object.assign({}, ...sections),
  };
}

/** The short form used in lists. */
export function userSummary(user: UserRow) {
  return {
    id: String(user.id),
    userId: user.user_id,
    properties: user.properties,
    firstSeenAt: user.first_seen_at,
    lastSeenAt: user.last_seen_at,
    score: user.score,
    grade: user.grade,
    lifecycleStage: user.lifecycle_stage,
  };
}
