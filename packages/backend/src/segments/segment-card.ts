/** What segments put on the user card: counters and memberships (for the engine), segments (for the API). */
import type { UserCard } from "@nurture/core";
import type { DbOrTrx, UserRow } from "@nurture/db";
import { loadUserCounters } from "./counters.repository";
import { loadUserSegmentIds, loadUserSegmentMemberships } from "./segments.repository";

export async function loadSegmentsCardSection(db: DbOrTrx, user: UserRow, card: UserCard): Promise<void> {
  card.counters = await loadUserCounters(db, user.id);
  card.segmentIds = await loadUserSegmentIds(db, user.id);
}

export async function segmentsCardView(db: DbOrTrx, user: UserRow): Promise<Record<string, unknown>> {
  return { segments: await loadUserSegmentMemberships(db, user.id) };
}
