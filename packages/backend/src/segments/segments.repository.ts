import type { Condition } from "@nurture/core";
import type { DbOrTrx, SegmentRow, UserRow } from "@nurture/db";
import { sql } from "kysely";
import { decodeCursor, encodeCursor, type Page } from "../users/users.repository";

export interface StoredSegment {
  id: string;
  version: number;
  condition: Condition;
}

export function getSegmentRow(db: DbOrTrx, projectId: string, id: string): Promise<SegmentRow | undefined> {
  return db.selectFrom("segments").selectAll().where("project_id", "=", projectId).where("id", "=", id).executeTakeFirst();
}

export function findSegmentByName(db: DbOrTrx, projectId: string, name: string): Promise<SegmentRow | undefined> {
  return db.selectFrom("segments").selectAll().where("project_id", "=", projectId).where(sql<boolean>`lower(name) = lower(${name})`).executeTakeFirst();
}

/** Conditions stored were validated on save, so they are read back as typed conditions. */
export async function loadProjectSegments(db: DbOrTrx, projectId: string): Promise<StoredSegment[]> {
  const rows = await db.selectFrom("segments").select(["id", "version", "condition"]).where("project_id", "=", projectId).orderBy("created_at").orderBy("id").execute();
  return rows.map((r) => ({ id: r.id, version: r.version, condition: r.condition as Condition }));
}

/** Segment rows, oldest first, keyset-paged on (created_at, id), with their member counts. */
export async function listSegmentRows(db: DbOrTrx, projectId: string, options: { limit: number; cursor?: string }): Promise<Page<SegmentRow & { members: number }>> {
  const after = decodeCursor(options.cursor) as [string, string] | undefined;
  let q = db
    .selectFrom("segments as s")
    .selectAll("s")
    .select(sql<number>`(SELECT count(*) FROM segment_members m WHERE m.segment_id = s.id)`.as("members"))
    .where("s.project_id", "=", projectId);
  if (after) q = q.where(sql<boolean>`(s.created_at, s.id) > (${after[0]}::timestamptz, ${after[1]}::uuid)`);
  const rows = await q.orderBy("s.created_at").orderBy("s.id").limit(options.limit + 1).execute();
  const items = rows.slice(0, options.limit);
  const last = rows.length > options.limit ? items[items.length - 1] : undefined;
  return { items, nextCursor: last ? encodeCursor([last.created_at.toISOString(), last.id]) : null };
}

export async function countSegmentMembers(db: DbOrTrx, segmentId: string): Promise<number> {
  const row = await db.selectFrom("segment_members").select((eb) => eb.fn.countAll<number>().as("n")).where("segment_id", "=", segmentId).executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Members, in user id order (keyset on it), with when they entered. */
export async function listSegmentMembers(db: DbOrTrx, segmentId: string, options: { limit: number; cursor?: string }): Promise<Page<{ user: UserRow; enteredAt: Date }>> {
  const after = decodeCursor(options.cursor) as [number] | undefined;
  let q = db
    .selectFrom("segment_members as m")
    .innerJoin("users as u", "u.id", "m.user_id")
    .selectAll("u")
    .select("m.entered_at")
    .where("m.segment_id", "=", segmentId);
  if (after && typeof after[0] === "number") q = q.where("m.user_id", ">", after[0]);
  const rows = await q.orderBy("m.user_id").limit(options.limit + 1).execute();
  const items = rows.slice(0, options.limit).map(({ entered_at, ...user }) => ({ user: user as UserRow, enteredAt: entered_at }));
  const last = rows.length > options.limit ? items[items.length - 1] : undefined;
  return { items, nextCursor: last ? encodeCursor([last.user.id]) : null };
}

export async function loadUserSegmentIds(db: DbOrTrx, userId: number): Promise<string[]> {
  const rows = await db.selectFrom("segment_members").select("segment_id").where("user_id", "=", userId).orderBy("segment_id").execute();
  return rows.map((r) => r.segment_id);
}

/** The user's segments with names and entry times, for the card view. */
export async function loadUserSegmentMemberships(db: DbOrTrx, userId: number): Promise<{ id: string; name: string; enteredAt: Date }[]> {
  const rows = await db
    .selectFrom("segment_members as m")
    .innerJoin("segments as s", "s.id", "m.segment_id")
    .select(["s.id", "s.name", "m.entered_at"])
    .where("m.user_id", "=", userId)
    .orderBy("s.name")
    .execute();
  return rows.map((r) => ({ id: r.id, name: r.name, enteredAt: r.entered_at }));
}
