import {
  applyPropertyOps,
  planIdentities,
  traitsToOps,
  type CardRef,
  type IdentitySnapshot,
  type PropertyMeta,
  type PropertyOp,
} from "@nurture/core";
import type { DB, Db } from "@nurture/db";
import { sql, type Transaction } from "kysely";
import { AppError } from "../errors";
import type { IncomingEvent } from "./incoming-event";
import { mergeUsers } from "./merge-users";

export interface IngestResult {
  /** Events stored now; the rest were already stored (same messageId). */
  stored: number;
  duplicates: number;
  /** Internal ids of the cards that received events, for the downstream pipeline. */
  userIds: number[];
}

type Trx = Transaction<DB>;

/**
 * Stores a batch in one transaction: resolves identities, inserts events idempotently by
 * (project, messageId), updates per-event statistics and the cards' properties. When it returns,
 * everything is committed; nothing of a failed batch is applied.
 */
export async function ingestEvents(db: Db, projectId: string, events: readonly IncomingEvent[]): Promise<IngestResult> {
  if (events.length === 0) return { stored: 0, duplicates: 0, userIds: [] };
  try {
    return await db.transaction().execute((trx) => storeBatch(trx, projectId, events, false));
  } catch (err) {
    // A card this batch pointed at was merged away concurrently (23503), or a merge's row locks
    // crossed ours (40P01): redo it under the identity locks.
    const code = (err as { code?: string }).code;
    if (code === "23503" || code === "40P01") return db.transaction().execute((trx) => storeBatch(trx, projectId, events, true));
    throw err;
  }
}

/**
 * Returning visitors (the common case) need no identity change, so their batches skip the identity
 * locks. A batch that creates, links, renames or merges cards takes the locks and plans again on
 * what it then sees. A merge locks the folded card's row before moving its events, so an unlocked
 * batch either lands before it (and is moved along) or fails its foreign key and is redone locked.
 */
async function storeBatch(trx: Trx, projectId: string, events: readonly IncomingEvent[], locked: boolean): Promise<IngestResult> {
  if (locked) await lockIdentities(trx, projectId, events);
  let plan = planIdentities(events, await loadSnapshot(trx, projectId, events));
  const changesIdentities = plan.created.length + plan.renamed.length + plan.merges.length + plan.links.length > 0;
  if (!locked && changesIdentities) {
    await lockIdentities(trx, projectId, events);
    plan = planIdentities(events, await loadSnapshot(trx, projectId, events));
  }

  await lockCards(
    trx,
    [...new Set(plan.messageCards.flatMap((c) => ("existing" in c ? [c.existing] : [])))].sort((a, b) => a - b),
  );
  const createdIds = await createUsers(trx, projectId, plan.created, events);
  const idOf = (ref: CardRef) => ("existing" in ref ? ref.existing : createdIds[ref.created]!);

  for (const r of plan.renamed) {
    await trx.updateTable("users").set({ user_id: r.userId, updated_at: new Date() }).where("id", "=", r.id).execute();
  }
  for (const m of plan.merges) await mergeUsers(trx, projectId, m.from, m.into);
  if (plan.links.length > 0) {
    await trx
      .insertInto("anonymous_ids")
      .values(plan.links.map((l) => ({ project_id: projectId, anonymous_id: l.anonymousId, user_id: idOf(l.card) })))
      .onConflict((oc) => oc.columns(["project_id", "anonymous_id"]).doUpdateSet((eb) => ({ user_id: eb.ref("excluded.user_id") })))
      .execute();
  }

  const userIdPerEvent = plan.messageCards.map(idOf);
  const inserted = await insertEvents(trx, projectId, events, userIdPerEvent);
  await applyProfileChanges(trx, events, userIdPerEvent, inserted);
  return {
    stored: inserted.size,
    duplicates: events.length - inserted.size,
    userIds: [...new Set(userIdPerEvent)],
  };
}

/**
 * Serializes concurrent batches that touch the same identities (a visitor's events arriving on two
 * connections), so two cards are never created for one person. Sorted to avoid deadlocks.
 */
async function lockIdentities(trx: Trx, projectId: string, events: readonly IncomingEvent[]): Promise<void> {
  const keys = new Set<string>();
  for (const e of events) {
    if (e.userId !== undefined) keys.add(`u:${e.userId}`);
    if (e.anonymousId !== undefined) keys.add(`a:${e.anonymousId}`);
    if (e.previousId !== undefined) {
      keys.add(`u:${e.previousId}`);
      keys.add(`a:${e.previousId}`);
    }
  }
  await sql`SELECT pg_advisory_xact_lock(k) FROM (
      SELECT DISTINCT hashtextextended(${projectId} || ':' || key, 0) AS k FROM unnest(${[...keys]}::text[]) AS key
    ) AS keys ORDER BY k`.execute(trx);
}

async function loadSnapshot(trx: Trx, projectId: string, events: readonly IncomingEvent[]): Promise<IdentitySnapshot> {
  const userIds = new Set<string>();
  const anonymousIds = new Set<string>();
  for (const e of events) {
    if (e.userId !== undefined) userIds.add(e.userId);
    if (e.anonymousId !== undefined) anonymousIds.add(e.anonymousId);
    if (e.previousId !== undefined) {
      userIds.add(e.previousId);
      anonymousIds.add(e.previousId);
    }
  }
  // One round trip for both kinds of id.
  const rows = await sql<{ kind: "u" | "a"; key: string; id: number; user_id: string | null }>`
    SELECT 'u' AS kind, user_id AS key, id, user_id FROM users
     WHERE project_id = ${projectId} AND user_id = ANY(${[...userIds]}::text[])
    UNION ALL
    SELECT 'a', a.anonymous_id, u.id, u.user_id FROM anonymous_ids a JOIN users u ON u.id = a.user_id
     WHERE a.project_id = ${projectId} AND a.anonymous_id = ANY(${[...anonymousIds]}::text[])
  `.execute(trx);
  const snapshot: IdentitySnapshot = { byUserId: new Map(), byAnonymousId: new Map() };
  for (const r of rows.rows) (r.kind === "u" ? snapshot.byUserId : snapshot.byAnonymousId).set(r.key, { id: r.id, userId: r.user_id });
  return snapshot;
}

/**
 * Row locks on the batch's existing cards, always in id order: concurrent batches about the same
 * visitors then update statistics and cards one after the other instead of deadlocking.
 */
async function lockCards(trx: Trx, ids: number[]): Promise<void> {
  // One card needs no ordering: the statements that follow lock it anyway.
  if (ids.length <= 1) return;
  await sql`SELECT 1 FROM users WHERE id = ANY(${ids}::bigint[]) ORDER BY id FOR NO KEY UPDATE`.execute(trx);
}

async function createUsers(
  trx: Trx,
  projectId: string,
  created: { userId: string | null }[],
  events: readonly IncomingEvent[],
): Promise<number[]> {
  if (created.length === 0) return [];
  const first = events.reduce((min, e) => (e.occurredAt < min ? e.occurredAt : min), events[0]!.occurredAt);
  const rows = await trx
    .insertInto("users")
    .values(created.map((c) => ({ project_id: projectId, user_id: c.userId, first_seen_at: first, last_seen_at: first })))
    .returning("id")
    .execute();
  // Multi-row INSERT … RETURNING yields rows in VALUES order.
  return rows.map((r) => r.id);
}

async function insertEvents(
  trx: Trx,
  projectId: string,
  events: readonly IncomingEvent[],
  userIdPerEvent: number[],
): Promise<Set<number>> {
  const rows = await sql<{ idx: number }>`
    WITH input AS (
      SELECT * FROM unnest(
        ${events.map((_, i) => i)}::int[], ${userIdPerEvent}::bigint[], ${events.map((e) => e.messageId)}::text[],
        ${events.map((e) => e.type)}::text[], ${events.map((e) => e.name)}::text[],
        ${events.map((e) => JSON.stringify(e.properties))}::jsonb[], ${events.map((e) => JSON.stringify(e.context))}::jsonb[],
        ${events.map((e) => e.occurredAt.toISOString())}::timestamptz[]
      ) AS t(idx, user_id, message_id, type, name, properties, context, occurred_at)
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
    ),
    touched AS (
      UPDATE users u SET first_seen_at = least(u.first_seen_at, t.first_at), last_seen_at = greatest(u.last_seen_at, t.last_at)
      FROM (SELECT user_id, min(occurred_at) AS first_at, max(occurred_at) AS last_at FROM inserted GROUP BY user_id) AS t
      WHERE u.id = t.user_id
    )
    SELECT min(input.idx) AS idx FROM inserted JOIN input USING (message_id) GROUP BY message_id
  `.execute(trx);
  return new Set(rows.rows.map((r) => r.idx));
}

/** Identify traits and property operations, applied only for messages stored now (a retry changes nothing). */
async function applyProfileChanges(
  trx: Trx,
  events: readonly IncomingEvent[],
  userIdPerEvent: number[],
  inserted: Set<number>,
): Promise<void> {
  const opsByUser = new Map<number, { ops: PropertyOp[]; at: Date }[]>();
  events.forEach((e, i) => {
    if (!inserted.has(i)) return;
    const ops = [...(e.traits ? traitsToOps(e.traits) : []), ...(e.ops ?? [])];
    if (ops.length === 0) return;
    const list = opsByUser.get(userIdPerEvent[i]!) ?? [];
    list.push({ ops, at: e.occurredAt });
    opsByUser.set(userIdPerEvent[i]!, list);
  });
  if (opsByUser.size === 0) return;
  const users = await trx
    .selectFrom("users")
    .select(["id", "properties", "property_meta"])
    .where("id", "in", [...opsByUser.keys()])
    .forUpdate()
    .execute();
  const updates: { id: number; properties: string; meta: string }[] = [];
  for (const user of users) {
    let state = { properties: user.properties, meta: user.property_meta as PropertyMeta };
    for (const [index, change] of (opsByUser.get(user.id) ?? []).entries()) {
      try {
        const next = applyPropertyOps(state.properties, state.meta, change.ops, change.at);
        state = { properties: next.properties, meta: next.meta };
      } catch (err) {
        if (err instanceof Error && err.name === "PropertyOpError") {
          throw new AppError("unprocessable", err.message, [{ path: `ops.${index}`, message: err.message }]);
        }
        throw err;
      }
    }
    updates.push({ id: user.id, properties: JSON.stringify(state.properties), meta: JSON.stringify(state.meta) });
  }
  await sql`
    UPDATE users SET properties = v.properties, property_meta = v.meta, updated_at = now()
    FROM unnest(${updates.map((u) => u.id)}::bigint[], ${updates.map((u) => u.properties)}::jsonb[], ${updates.map((u) => u.meta)}::jsonb[])
      AS v(id, properties, meta)
    WHERE users.id = v.id
  `.execute(trx);
}


