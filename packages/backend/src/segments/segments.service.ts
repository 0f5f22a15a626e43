/**
 * Segment use cases: create / edit / delete with the set-based rebuild of membership and counters,
 * preview of a draft, and why a given user is (not) a member.
 */
import { classifyCondition, explainCondition, isTimeRelative, requiredCounters, type Condition, type ConditionTraceNode } from "@nurture/core";
import type { Db, DbOrTrx, SegmentRow, UserRow } from "@nurture/db";
import type { Queues } from "@nurture/jobs";
import { sql } from "kysely";
import type { Logger } from "pino";
import { AppError, type ErrorDetail } from "../errors";
import { loadCard } from "../pipeline/card-loader";
import { conditionSql } from "./condition-sql";
import { syncCounterOwner } from "./counters.repository";
import { backfillSegment, unkeptCounters, type BackfillResult } from "./segment-backfill";
import { dependencyOrder, dependentsOf } from "./segment-dependencies";
import { createSegmentTask, enqueueSegmentTasks } from "./segment-tasks";
import { countSegmentMembers, findSegmentByName, getSegmentRow, loadProjectSegments } from "./segments.repository";
import { lockSegmentsForRebuild } from "./segments-lock";

export interface SegmentsDeps {
  db: Db;
  queues: Queues;
  log: Logger;
}

export interface SegmentView {
  id: string;
  name: string;
  description: string | null;
  condition: Condition;
  members: number;
  timeRelative: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export function segmentView(row: SegmentRow, members: number): SegmentView {
  const condition = row.condition as Condition;
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    condition,
    members,
    timeRelative: isTimeRelative(condition),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

const owner = (segmentId: string) => `segment:${segmentId}`;

function segmentLeaves(condition: Condition, path: string[] = []): { path: string; id: string }[] {
  const c = classifyCondition(condition);
  if (c.kind === "and" || c.kind === "or") {
    const children = c.kind === "and" ? c.node.and : c.node.or;
    return children.flatMap((child, i) => segmentLeaves(child, [...path, c.kind, String(i)]));
  }
  if (c.kind === "not") return segmentLeaves(c.node.not, [...path, "not"]);
  if (c.kind === "segment") return [{ path: [...path, "segment"].join("."), id: c.node.segment }];
  return [];
}

/** Every segment the condition asks about must exist in the project (400 naming the node otherwise). */
async function checkReferences(db: DbOrTrx, projectId: string, condition: Condition, field: string): Promise<void> {
  const leaves = segmentLeaves(condition);
  if (leaves.length === 0) return;
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  const ids = [...new Set(leaves.map((l) => l.id).filter((id) => uuid.test(id)))];
  const found = new Set(
    ids.length === 0 ? [] : (await db.selectFrom("segments").select("id").where("project_id", "=", projectId).where("id", "in", ids).execute()).map((r) => r.id),
  );
  const details: ErrorDetail[] = leaves.filter((l) => !found.has(l.id)).map((l) => ({ path: `${field}.${l.path}`, message: `segment ${l.id} does not exist in this project` }));
  if (details.length > 0) throw new AppError("validation_failed", "The condition refers to a segment that does not exist", details);
}

async function rebuild(db: DbOrTrx, projectId: string, segment: { id: string; condition: Condition }, now: Date): Promise<BackfillResult> {
  await syncCounterOwner(db, projectId, owner(segment.id), requiredCounters(segment.condition), now);
  const result = await backfillSegment(db, projectId, segment, now);
  if (result.entered > 0 || isTimeRelative(segment.condition)) await createSegmentTask(db, projectId, "segment-followup", segment.id, now);
  return result;
}

export interface SegmentInput {
  name: string;
  description?: string | null;
  condition: Condition;
}

export async function createSegment(deps: SegmentsDeps, projectId: string, input: SegmentInput, now: Date): Promise<SegmentView & { backfill: BackfillResult }> {
  const created = await deps.db.transaction().execute(async (trx) => {
    await lockSegmentsForRebuild(trx, projectId);
    await checkReferences(trx, projectId, input.condition, "body.condition");
    if (await findSegmentByName(trx, projectId, input.name)) throw new AppError("conflict", `A segment named ${JSON.stringify(input.name)} already exists`);
    const row = await trx
      .insertInto("segments")
      .values({ project_id: projectId, name: input.name, description: input.description ?? null, condition: JSON.stringify(input.condition), created_at: now, updated_at: now })
      .returningAll()
      .executeTakeFirstOrThrow();
    const backfill = await rebuild(trx, projectId, { id: row.id, condition: input.condition }, now);
    return { row, backfill };
  });
  await enqueueSegmentTasks(deps.db, deps.queues, projectId, deps.log);
  return { ...segmentView(created.row, created.backfill.members), backfill: created.backfill };
}

export interface SegmentPatch {
  name?: string;
  description?: string | null;
  condition?: Condition;
}

export async function updateSegment(deps: SegmentsDeps, projectId: string, id: string, patch: SegmentPatch, now: Date): Promise<SegmentView & { backfill: BackfillResult | null }> {
  const updated = await deps.db.transaction().execute(async (trx) => {
    await lockSegmentsForRebuild(trx, projectId);
    if (patch.condition) await checkReferences(trx, projectId, patch.condition, "body.condition");
    const current = await getSegmentRow(trx, projectId, id);
    if (!current) throw new AppError("not_found", "Segment not found");
    if (patch.name !== undefined && patch.name.toLowerCase() !== current.name.toLowerCase() && (await findSegmentByName(trx, projectId, patch.name))) {
      throw new AppError("conflict", `A segment named ${JSON.stringify(patch.name)} already exists`);
    }
    const conditionChanged = patch.condition !== undefined && JSON.stringify(patch.condition) !== JSON.stringify(current.condition);
    if (conditionChanged) {
      const all = (await loadProjectSegments(trx, projectId)).map((s) => (s.id === id ? { ...s, condition: patch.condition! } : s));
      if (!dependencyOrder(all)) throw new AppError("validation_failed", "The condition would make segments refer to each other in a cycle", [{ path: "body.condition", message: "refers back to this segment" }]);
    }
    const row = await trx
      .updateTable("segments")
      .set({
        ...(patch.name !== undefined ? { name: patch.name } : {}),
        ...(patch.description !== undefined ? { description: patch.description } : {}),
        ...(conditionChanged ? { condition: JSON.stringify(patch.condition), version: sql<number>`version + 1` } : {}),
        updated_at: now,
      })
      .where("id", "=", id)
      .returningAll()
      .executeTakeFirstOrThrow();
    if (!conditionChanged) return { row, backfill: null };
    const backfill = await rebuild(trx, projectId, { id, condition: patch.condition! }, now);
    // Segments that ask about this one answer differently now too.
    for (const dependent of dependentsOf(await loadProjectSegments(trx, projectId), id)) await rebuild(trx, projectId, dependent, now);
    return { row, backfill };
  });
  await enqueueSegmentTasks(deps.db, deps.queues, projectId, deps.log);
  const members = updated.backfill?.members ?? (await countSegmentMembers(deps.db, id));
  return { ...segmentView(updated.row, members), backfill: updated.backfill };
}

/** Deletes a segment and its memberships (no exit events: the segment itself is gone). */
export async function deleteSegment(deps: SegmentsDeps, projectId: string, id: string, now: Date): Promise<void> {
  await deps.db.transaction().execute(async (trx) => {
    await lockSegmentsForRebuild(trx, projectId);
    const all = await loadProjectSegments(trx, projectId);
    if (!all.some((s) => s.id === id)) throw new AppError("not_found", "Segment not found");
    const readers = all.filter((s) => s.id !== id && segmentLeaves(s.condition).some((l) => l.id === id));
    if (readers.length > 0) {
      const names = await trx.selectFrom("segments").select("name").where("id", "in", readers.map((r) => r.id)).execute();
      throw new AppError("conflict", `Segment is used by ${names.map((n) => JSON.stringify(n.name)).join(", ")}; change those first`);
    }
    await trx.deleteFrom("segments").where("id", "=", id).execute();
    await syncCounterOwner(trx, projectId, owner(id), [], now);
  });
}

export interface SegmentPreview {
  count: number;
  sample: UserRow[];
}

/** How many users a draft condition matches now, and a sample of them (most recently seen first). */
export async function previewSegment(db: Db, projectId: string, condition: Condition, now: Date, sampleSize: number): Promise<SegmentPreview> {
  await checkReferences(db, projectId, condition, "body.condition");
  const rawCounters = await unkeptCounters(db, projectId, requiredCounters(condition).map((c) => c.key));
  const where = conditionSql(condition, { projectId, now, rawCounters });
  const [count, sample] = await Promise.all([
    sql<{ n: number }>`SELECT count(*) AS n FROM users u WHERE u.project_id = ${projectId} AND ${where}`.execute(db),
    sampleSize === 0
      ? Promise.resolve({ rows: [] as UserRow[] })
      : sql<UserRow>`SELECT u.* FROM users u WHERE u.project_id = ${projectId} AND ${where} ORDER BY u.last_seen_at DESC, u.id DESC LIMIT ${sampleSize}`.execute(db),
  ]);
  return { count: Number(count.rows[0]?.n ?? 0), sample: sample.rows };
}

/** Why the user is or is not in the segment now, node by node, next to the stored membership. */
export async function explainMembership(db: Db, projectId: string, segmentId: string, user: UserRow, now: Date): Promise<{ member: boolean; matchesNow: boolean; trace: ConditionTraceNode[] }> {
  const segment = await getSegmentRow(db, projectId, segmentId);
  if (!segment) throw new AppError("not_found", "Segment not found");
  const card = await loadCard(db, user);
  const trace = explainCondition(segment.condition as Condition, card, now);
  return { member: card.segmentIds.includes(segmentId), matchesNow: trace[0]!.passed, trace };
}
