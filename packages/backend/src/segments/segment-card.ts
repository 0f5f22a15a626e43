/** What segments put on the user card: counters and memberships (for the engine), segments (for the API). */
import type { DbOrTrx, UserRow } from "@nurture/db";
import { sql } from "kysely";
import type { CardSection } from "../pipeline/pipeline.types";
import { loadUserSegmentMemberships } from "./segments.repository";

export const segmentsCardSections: CardSection[] = [
  {
    select: (userId) => sql`(SELECT coalesce(json_agg(json_build_array(counter_key, total, first_at, last_at)), '[]') FROM user_counters WHERE user_id = ${userId})`,
    apply(card, value) {
      for (const [key, total, first, last] of value as [string, number, string | null, string | null][]) {
        card.counters[key] = { total, firstAt: first === null ? null : new Date(first), lastAt: last === null ? null : new Date(last), daily: card.counters[key]?.daily ?? {} };
      }
    },
  },
  {
    // Applied after the totals: days of a counter without a total row are dropped.
    select: (userId) => sql`(SELECT coalesce(json_agg(json_build_array(counter_key, day::text, count)), '[]') FROM user_counter_days WHERE user_id = ${userId})`,
    apply(card, value) {
      for (const [key, day, count] of value as [string, string, number][]) {
        const counter = card.counters[key];
        if (counter) counter.daily[day] = count;
      }
    },
  },
  {
    select: (userId) => sql`(SELECT coalesce(json_agg(segment_id ORDER BY segment_id), '[]') FROM segment_members WHERE user_id = ${userId})`,
    apply(card, value) {
      card.segmentIds = value as string[];
    },
  },
];

export async function segmentsCardView(db: DbOrTrx, user: UserRow): Promise<Record<string, unknown>> {
  return { segments: await loadUserSegmentMemberships(db, user.id) };
}
