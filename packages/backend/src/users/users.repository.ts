import type { DbOrTrx, UserRow } from "@nurture/db";
import { sql } from "kysely";

/**
 * Finds a card by the site's user id, by our internal id, or by one of its anonymous ids.
 * Without a hint the site's id wins over an equal-looking internal id.
 */
export type UserLookup = "auto" | "userId" | "id" | "anonymousId";

export async function findUser(db: DbOrTrx, projectId: string, ref: string, by: UserLookup = "auto"): Promise<UserRow | undefined> {
  const isInternal = /^\d{1,15}$/.test(ref);
  if (by === "userId" || by === "auto") {
    const row = await db.selectFrom("users").selectAll().where("project_id", "=", projectId).where("user_id", "=", ref).executeTakeFirst();
    if (row || by === "userId") return row;
  }
  if ((by === "id" || by === "auto") && isInternal) {
    const row = await db.selectFrom("users").selectAll().where("project_id", "=", projectId).where("id", "=", Number(ref)).executeTakeFirst();
    if (row || by === "id") return row;
  }
  if (by === "anonymousId" || by === "auto") {
    return db
      .selectFrom("anonymous_ids as a")
      .innerJoin("users as u", "u.id", "a.user_id")
      .selectAll("u")
      .where("a.project_id", "=", projectId)
      .where("a.anonymous_id", "=", ref)
      .executeTakeFirst();
  }
  return undefined;
}

export async function loadAnonymousIds(db: DbOrTrx, userId: number): Promise<string[]> {
  const rows = await db.selectFrom("anonymous_ids").select("anonymous_id").where("user_id", "=", userId).orderBy("created_at").execute();
  return rows.map((r) => r.anonymous_id);
}

export async function loadEventStats(db: DbOrTrx, userId: number) {
  const rows = await db
    .selectFrom("event_stats")
    .select(["event_name", "count", "first_at", "last_at"])
    .where("user_id", "=", userId)
    .orderBy("event_name")
    .execute();
  return Object.fromEntries(rows.map((r) => [r.event_name, { count: r.count, firstAt: r.first_at, lastAt: r.last_at }]));
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

const encodeCursor = (parts: (string | number)[]) => Buffer.from(JSON.stringify(parts)).toString("base64url");
export function decodeCursor(cursor: string | undefined): unknown[] | undefined {
  if (!cursor) return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    return Array.isArray(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}
export { encodeCursor };

/** The timeline, newest first, keyset-paged on (occurred_at, id). */
export async function listUserEvents(
  db: DbOrTrx,
  projectId: string,
  userId: number,
  options: { limit: number; cursor?: string; name?: string },
): Promise<Page<{ id: number; type: string; name: string; properties: Record<string, unknown>; context: Record<string, unknown>; occurredAt: Date; receivedAt: Date }>> {
  const after = decodeCursor(options.cursor) as [string, number] | undefined;
  let q = db
    .selectFrom("events")
    .select(["id", "type", "name", "properties", "context", "occurred_at", "received_at"])
    .where("project_id", "=", projectId)
    .where("user_id", "=", userId);
  if (options.name) q = q.where("name", "=", options.name);
  if (after) q = q.where(sql<boolean>`(occurred_at, id) < (${after[0]}::timestamptz, ${after[1]}::bigint)`);
  const rows = await q.orderBy("occurred_at", "desc").orderBy("id", "desc").limit(options.limit + 1).execute();
  const items = rows.slice(0, options.limit).map((r) => ({
    id: r.id,
    type: r.type,
    name: r.name,
    properties: r.properties,
    context: r.context,
    occurredAt: r.occurred_at,
    receivedAt: r.received_at,
  }));
  const last = rows.length > options.limit ? rows[options.limit - 1] : undefined;
  return { items, nextCursor: last ? encodeCursor([last.occurred_at.toISOString(), last.id]) : null };
}

export interface UserListFilter {
  limit: number;
  cursor?: string;
  /** Matches the site's user id, an email or name property (case-insensitive prefix). */
  q?: string;
  known?: boolean;
}

/** Cards, most recently seen first, keyset-paged on (last_seen_at, id). */
export async function listUsers(db: DbOrTrx, projectId: string, filter: UserListFilter): Promise<Page<UserRow>> {
  const after = decodeCursor(filter.cursor) as [string, number] | undefined;
  let q = db.selectFrom("users").selectAll().where("project_id", "=", projectId);
  if (filter.known === true) q = q.where("user_id", "is not", null);
  if (filter.known === false) q = q.where("user_id", "is", null);
  if (filter.q) {
    const pattern = `${filter.q.replace(/[\\%_]/g, (c) => `\\${c}`).toLowerCase()}%`;
    q = q.where((eb) =>
      eb.or([
        eb(eb.fn("lower", ["user_id"]), "like", pattern),
        eb(sql`lower(properties->>'email')`, "like", pattern),
        eb(sql`lower(properties->>'name')`, "like", pattern),
      ]),
    );
  }
  if (after) q = q.where(sql<boolean>`(last_seen_at, id) < (${after[0]}::timestamptz, ${after[1]}::bigint)`);
  const rows = await q.orderBy("last_seen_at", "desc").orderBy("id", "desc").limit(filter.limit + 1).execute();
  const items = rows.slice(0, filter.limit);
  const last = rows.length > filter.limit ? items[items.length - 1] : undefined;
  return { items, nextCursor: last ? encodeCursor([last.last_seen_at.toISOString(), last.id]) : null };
}
