import type { CardRef, IdentityPlan, IdentitySnapshot } from "@nurture/core";
import { prepared, type DbOrTrx } from "@nurture/db";
import { sql } from "kysely";
import type { IncomingEvent } from "./incoming-event";

export interface StoredEvents {
  /** Indexes of the messages stored now; the others were stored before (same messageId). */
  inserted: Set<number>;
  /** Per message: the internal id of its card. */
  userIdPerEvent: number[];
}

/** Per new card, the first and last time its own messages were seen (every new card has at least one). */
function seenTimes(plan: IdentityPlan, events: readonly IncomingEvent[]): { first: Date; last: Date }[] {
  const seen = plan.created.map(() => ({ first: events[0]!.occurredAt, last: events[0]!.occurredAt, any: false }));
  plan.messageCards.forEach((card, i) => {
    if (!("created" in card)) return;
    const at = events[i]!.occurredAt;
    const s = seen[card.created]!;
    if (!s.any || at < s.first) s.first = at;
    if (!s.any || at > s.last) s.last = at;
    s.any = true;
  });
  return seen;
}

const existingId = (ref: CardRef) => ("existing" in ref ? ref.existing : null);

/** The cards that existed before the batch and receive some of its messages, in id order. */
export function existingCardIds(plan: IdentityPlan): number[] {
  return [...new Set(plan.messageCards.flatMap((c) => ("existing" in c ? [c.existing] : [])))].sort((a, b) => a - b);
}
const createdOrdinal = (ref: CardRef) => ("created" in ref ? ref.created + 1 : null);

/** The plan's links, once per anonymous id (the last one wins), split by whether the id was known. */
function linksOf(plan: IdentityPlan, snapshot: IdentitySnapshot) {
  const last = new Map(plan.links.map((l) => [l.anonymousId, l.card]));
  const links = [...last].map(([anonymousId, card]) => ({ anonymousId, card, known: snapshot.byAnonymousId.has(anonymousId) }));
  return { links, unknown: links.filter((l) => !l.known).length };
}

/**
 * One statement, one round trip: creates the plan's new cards, points anonymous ids at their cards,
 * inserts the messages idempotently by (project, messageId), and keeps per-event statistics and
 * first/last seen up to date.
 *
 * New cards get their ids from the sequence first, so the messages can name them in the same
 * statement, and start with the first and last time their own messages were seen: storing those
 * messages then changes nothing on the row (last_seen_at is indexed, so an update could not be
 * HOT). Only cards that existed before the batch are updated, and only when a time moves.
 *
 * An anonymous id the snapshot did not know is claimed, never taken over: if a concurrent batch
 * linked it first, the statement aborts (nurture_identity_race), as it does when a new known
 * user's id was taken (unique violation), and the caller plans again. New ids are written in
 * sorted order, so two batches creating the same visitors wait for each other, not deadlock.
 */
export async function storeEvents(
  db: DbOrTrx,
  projectId: string,
  plan: IdentityPlan,
  snapshot: IdentitySnapshot,
  events: readonly IncomingEvent[],
): Promise<StoredEvents> {
  const seen = seenTimes(plan, events);
  const { links, unknown } = linksOf(plan, snapshot);
  const existing = existingCardIds(plan);
  // Several existing cards are locked first, in id order, before anything of them is written
  // (every write below reads `input`, which waits for this): concurrent batches about the same
  // visitors then take turns on their statistics and cards instead of deadlocking. One card needs
  // no ordering: the writes lock it anyway.
  const ordersLocks = existing.length > 1;
  const lockExisting = ordersLocks
    ? sql`locked AS MATERIALIZED (SELECT id FROM users WHERE id = ANY(${existing}::bigint[]) ORDER BY id FOR NO KEY UPDATE),`
    : sql``;
  const afterLocks = ordersLocks ? sql`WHERE (SELECT count(*) FROM locked) >= 0` : sql``;
  const touchExisting = existing.length > 0
    ? sql`, touched AS (
        UPDATE users u SET first_seen_at = least(u.first_seen_at, t.first_at), last_seen_at = greatest(u.last_seen_at, t.last_at)
          FROM (SELECT user_id, min(occurred_at) AS first_at, max(occurred_at) AS last_at FROM inserted
                 WHERE user_id = ANY(${existing}::bigint[]) GROUP BY user_id) AS t
         WHERE u.id = t.user_id AND (t.first_at < u.first_seen_at OR t.last_at > u.last_seen_at)
      )`
    : sql``;
  // The messages' properties and contexts travel as one JSON array each: PostgreSQL reads that in
  // a fraction of the time a text[] or jsonb[] literal of the same documents takes (every quote
  // escaped in it).
  const statement = sql<{ created: number | null; id: number | null; message_id: string | null }>`
    WITH ${lockExisting} created AS MATERIALIZED (
      SELECT c.ord, nextval(pg_get_serial_sequence('users', 'id')) AS id, c.user_id, c.first_at, c.last_at
        FROM unnest(${plan.created.map((c) => c.userId)}::text[], ${seen.map((s) => s.first.toISOString())}::timestamptz[],
                    ${seen.map((s) => s.last.toISOString())}::timestamptz[]) WITH ORDINALITY AS c(user_id, first_at, last_at, ord)
    ),
    new_cards AS (
      INSERT INTO users (id, project_id, user_id, first_seen_at, last_seen_at)
      SELECT id, ${projectId}::uuid, user_id, first_at, last_at FROM created ORDER BY user_id
    ),
    link_input AS (
      SELECT l.anonymous_id, coalesce(l.user_id, c.id) AS user_id, l.known
        FROM unnest(${links.map((l) => l.anonymousId)}::text[], ${links.map((l) => existingId(l.card))}::bigint[],
                    ${links.map((l) => createdOrdinal(l.card))}::int[], ${links.map((l) => l.known)}::boolean[]) AS l(anonymous_id, user_id, created, known)
        LEFT JOIN created c ON c.ord = l.created
    ),
    claimed AS (
      INSERT INTO anonymous_ids (project_id, anonymous_id, user_id)
      SELECT ${projectId}::uuid, anonymous_id, user_id FROM link_input WHERE NOT known ORDER BY anonymous_id
      ON CONFLICT (project_id, anonymous_id) DO NOTHING
      RETURNING anonymous_id
    ),
    moved AS (
      INSERT INTO anonymous_ids (project_id, anonymous_id, user_id)
      SELECT ${projectId}::uuid, anonymous_id, user_id FROM link_input WHERE known
      ON CONFLICT (project_id, anonymous_id) DO UPDATE SET user_id = excluded.user_id
    ),
    input AS (
      SELECT t.idx, coalesce(t.user_id, c.id) AS user_id, t.message_id, t.type, t.name, t.properties, t.context, t.occurred_at
        FROM ROWS FROM (
          unnest(${plan.messageCards.map(existingId)}::bigint[], ${plan.messageCards.map(createdOrdinal)}::int[],
                 ${events.map((e) => e.messageId)}::text[], ${events.map((e) => e.type)}::text[], ${events.map((e) => e.name)}::text[],
                 ${events.map((e) => e.occurredAt.toISOString())}::timestamptz[]),
          jsonb_array_elements(${JSON.stringify(events.map((e) => e.properties))}::jsonb),
          jsonb_array_elements(${JSON.stringify(events.map((e) => e.context))}::jsonb)
        ) WITH ORDINALITY AS t(user_id, created, message_id, type, name, occurred_at, properties, context, idx)
        LEFT JOIN created c ON c.ord = t.created
        ${afterLocks}
    ),
    inserted AS (
      INSERT INTO events (project_id, user_id, message_id, type, name, properties, context, occurred_at)
      SELECT ${projectId}::uuid, user_id, message_id, type, name, properties, context, occurred_at FROM input ORDER BY idx
      ON CONFLICT (project_id, message_id) DO NOTHING
      RETURNING user_id, message_id, name, occurred_at
    ),
    stats AS (
      INSERT INTO event_stats AS s (project_id, user_id, event_name, count, first_at, last_at)
      SELECT ${projectId}::uuid, user_id, name, count(*), min(occurred_at), max(occurred_at) FROM inserted GROUP BY user_id, name
      ON CONFLICT (user_id, event_name) DO UPDATE SET
        count = s.count + excluded.count,
        first_at = least(s.first_at, excluded.first_at),
        last_at = greatest(s.last_at, excluded.last_at)
    )${touchExisting}
    SELECT ord::int AS created, id, NULL AS message_id FROM created
    UNION ALL
    SELECT NULL, NULL, message_id FROM inserted
    UNION ALL
    SELECT NULL, NULL, NULL WHERE nurture_identity_race((SELECT count(*) FROM claimed) < ${unknown})
  `;
  const rows = await prepared(statement, events.length).execute(db);

  const createdIds: number[] = [];
  const storedMessageIds = new Set<string>();
  for (const r of rows.rows) {
    if (r.message_id !== null) storedMessageIds.add(r.message_id);
    else createdIds[r.created! - 1] = r.id!;
  }
  // A messageId twice in one batch is stored once: the first of them.
  const inserted = new Set<number>();
  events.forEach((e, i) => {
    if (storedMessageIds.delete(e.messageId)) inserted.add(i);
  });
  return { inserted, userIdPerEvent: plan.messageCards.map((c) => ("existing" in c ? c.existing : createdIds[c.created]!)) };
}
