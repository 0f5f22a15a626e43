/**
 * Background work after a segment save or a lifecycle settings change, on the maintenance queue.
 * Progress lives in segment_tasks (cursor = last user id done), so a retried job resumes; the job id
 * is deterministic, so re-adding a task is harmless and revives one Redis lost.
 */
import { isTimeRelative, type Condition } from "@nurture/core";
import type { Db, DbOrTrx, SegmentTaskRow } from "@nurture/db";
import type { JobPayload, Queues } from "@nurture/jobs";
import type { Logger } from "pino";
import { backfillLifecycleChunk, lifecycleSettingsOf, lifecycleTickConditions } from "./lifecycle.service";
import { recordPendingEntries, scheduleTicksFor } from "./segment-followup";

export const SEGMENT_TASKS = ["segment-followup", "lifecycle-backfill"] as const;
export type SegmentTaskKind = (typeof SEGMENT_TASKS)[number];

export interface SegmentTaskDeps {
  db: Db;
  now: () => Date;
  log: Logger;
}

export async function createSegmentTask(db: DbOrTrx, projectId: string, kind: SegmentTaskKind, segmentId: string | null, asOf: Date): Promise<string> {
  const row = await db.insertInto("segment_tasks").values({ project_id: projectId, kind, segment_id: segmentId, as_of: asOf }).returning("id").executeTakeFirstOrThrow();
  return row.id;
}

/** Puts queued tasks of the project on the queue; a failure leaves them queued for the next call. */
export async function enqueueSegmentTasks(db: DbOrTrx, queues: Queues, projectId: string, log: Logger): Promise<void> {
  const pending = await db.selectFrom("segment_tasks").select(["id", "kind"]).where("project_id", "=", projectId).where("status", "in", ["queued", "running"]).orderBy("created_at").execute();
  for (const task of pending) {
    await queues
      .add("maintenance", { projectId, task: task.kind, params: { taskId: task.id } }, { jobId: `segments-${task.id}` })
      .catch((err) => log.warn({ err, taskId: task.id }, "segment task not queued yet; it is re-queued on the next segment change"));
  }
}

/** The maintenance job of every unfinished segment task created before `before` (for the sweeper). */
export async function unfinishedSegmentTasks(db: DbOrTrx, before: Date): Promise<{ jobId: string; payload: JobPayload<"maintenance"> }[]> {
  const rows = await db.selectFrom("segment_tasks").select(["id", "project_id", "kind"]).where("status", "in", ["queued", "running"]).where("created_at", "<=", before).execute();
  return rows.map((r) => ({ jobId: `segments-${r.id}`, payload: { projectId: r.project_id, task: r.kind, params: { taskId: r.id } } }));
}

export function pendingSegmentTasks(db: DbOrTrx, projectId: string): Promise<Pick<SegmentTaskRow, "id" | "kind" | "segment_id" | "status" | "created_at">[]> {
  return db.selectFrom("segment_tasks").select(["id", "kind", "segment_id", "status", "created_at"]).where("project_id", "=", projectId).where("status", "in", ["queued", "running"]).orderBy("created_at").execute();
}

async function runSegmentFollowup(deps: SegmentTaskDeps, task: SegmentTaskRow): Promise<void> {
  const segment = task.segment_id
    ? await deps.db.selectFrom("segments").select(["id", "condition"]).where("id", "=", task.segment_id).executeTakeFirst()
    : undefined;
  if (!segment) return;
  await recordPendingEntries(deps.db, task.project_id, segment.id);
  const condition = segment.condition as Condition;
  if (!isTimeRelative(condition)) return;
  await scheduleTicksFor(deps.db, task.project_id, [condition], task.as_of, task.cursor, (last) => saveCursor(deps.db, task.id, last));
}

async function runLifecycleBackfill(deps: SegmentTaskDeps, task: SegmentTaskRow): Promise<void> {
  const project = await deps.db.selectFrom("projects").select("settings").where("id", "=", task.project_id).executeTakeFirst();
  if (!project) return;
  const settings = lifecycleSettingsOf(project.settings);
  let after = task.cursor;
  for (;;) {
    const last = await backfillLifecycleChunk(deps.db, task.project_id, settings, task.as_of, after);
    if (last === null) break;
    after = last;
    await saveCursor(deps.db, task.id, after);
  }
  await scheduleTicksFor(deps.db, task.project_id, lifecycleTickConditions(settings), task.as_of, 0, async () => {});
}

const saveCursor = async (db: Db, taskId: string, cursor: number) => {
  await db.updateTable("segment_tasks").set({ cursor }).where("id", "=", taskId).execute();
};

export async function runSegmentTask(deps: SegmentTaskDeps, taskId: string, options: { finalAttempt: boolean }): Promise<{ status: string } | null> {
  const task = await deps.db.selectFrom("segment_tasks").selectAll().where("id", "=", taskId).executeTakeFirst();
  if (!task || task.status === "done" || task.status === "failed") return task ? { status: task.status } : null;
  try {
    await deps.db.updateTable("segment_tasks").set({ status: "running", error: null }).where("id", "=", taskId).execute();
    if (task.kind === "segment-followup") await runSegmentFollowup(deps, task);
    else await runLifecycleBackfill(deps, task);
    await deps.db.updateTable("segment_tasks").set({ status: "done", finished_at: deps.now() }).where("id", "=", taskId).execute();
    return { status: "done" };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    await deps.db
      .updateTable("segment_tasks")
      .set(options.finalAttempt ? { status: "failed", error: message, finished_at: deps.now() } : { error: `${message} (retrying)` })
      .where("id", "=", taskId)
      .execute();
    throw err;
  }
}
