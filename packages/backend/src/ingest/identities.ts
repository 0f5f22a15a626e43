import type { IdentitySnapshot } from "@nurture/core";
import { prepared, type DB, type DbOrTrx } from "@nurture/db";
import { sql, type Transaction } from "kysely";
import type { IncomingEvent } from "./incoming-event";

type Trx = Transaction<DB>;

/** The user ids and anonymous ids the batch names (an alias's previous id may be either). */
function identitiesOf(events: readonly IncomingEvent[]): { userIds: Set<string>; anonymousIds: Set<string> } {
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
  return { userIds, anonymousIds };
}

/**
 * Serializes concurrent batches that change the same identities (renames, merges, an anonymous id
 * moving to another card), so each plans on what the other did. Creating a card for a new visitor
 * needs no lock: the unique keys catch a concurrent creation (see storeEvents). Sorted to avoid
 * deadlocks.
 */
export async function lockIdentities(trx: Trx, projectId: string, events: readonly IncomingEvent[]): Promise<void> {
  const { userIds, anonymousIds } = identitiesOf(events);
  const keys = [...[...userIds].map((id) => `u:${id}`), ...[...anonymousIds].map((id) => `a:${id}`)];
  await sql`SELECT pg_advisory_xact_lock(k) FROM (
      SELECT DISTINCT hashtextextended(${projectId} || ':' || key, 0) AS k FROM unnest(${keys}::text[]) AS key
    ) AS keys ORDER BY k`.execute(trx);
}

export async function loadSnapshot(db: DbOrTrx, projectId: string, events: readonly IncomingEvent[]): Promise<IdentitySnapshot> {
  const { userIds, anonymousIds } = identitiesOf(events);
  // One round trip for both kinds of id, and one index probe per id whatever the statistics say
  // (LIMIT 1 keeps the planner from turning the probes into a scan of the project's rows).
  const statement = sql<{ kind: "u" | "a"; key: string; id: number; user_id: string | null }>`
    SELECT 'u' AS kind, k.key, u.id, u.user_id FROM unnest(${[...userIds]}::text[]) AS k(key)
      CROSS JOIN LATERAL (SELECT id, user_id FROM users WHERE project_id = ${projectId} AND user_id = k.key LIMIT 1) AS u
    UNION ALL
    SELECT 'a', k.key, u.id, u.user_id FROM unnest(${[...anonymousIds]}::text[]) AS k(key)
      CROSS JOIN LATERAL (
        SELECT u.id, u.user_id FROM anonymous_ids a JOIN users u ON u.id = a.user_id
         WHERE a.project_id = ${projectId} AND a.anonymous_id = k.key LIMIT 1
      ) AS u
  `;
  const rows = await prepared(statement, Math.max(userIds.size, anonymousIds.size)).execute(db);
  const snapshot: IdentitySnapshot = { byUserId: new Map(), byAnonymousId: new Map() };
  for (const r of rows.rows) (r.kind === "u" ? snapshot.byUserId : snapshot.byAnonymousId).set(r.key, { id: r.id, userId: r.user_id });
  return snapshot;
}

/**
 * Row locks on the batch's existing cards, always in id order: concurrent batches about the same
 * visitors then update statistics and cards one after the other instead of deadlocking.
 */
export async function lockCards(trx: Trx, ids: number[]): Promise<void> {
  // One card needs no ordering: the statements that follow lock it anyway.
  if (ids.length <= 1) return;
  await sql`SELECT 1 FROM users WHERE id = ANY(${ids}::bigint[]) ORDER BY id FOR NO KEY UPDATE`.execute(trx);
}
