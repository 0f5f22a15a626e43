import { computeGrade, type GradeModel, type ScoringRule } from "@nurture/core";
import type { Db, DbOrTrx, ScoringJobRow } from "@nurture/db";
import type { JobPayload, Queues } from "@nurture/jobs";
import { sql } from "kysely";
import type { Logger } from "pino";
import { AppError } from "../errors";
import { getGradeModel } from "./grade-model.repository";
import { recomputeUserScores } from "./score-recompute";
import { activeRules, scoringRuleOf } from "./scoring-rules.repository";

export const SCORING_TASKS = ["recompute-scores", "backfill-grades"] as const;
export type ScoringTask = (typeof SCORING_TASKS)[number];

/** Users per transaction: their rows stay locked (the pipeline waits for them) only this long. */
const CHUNK = { "recompute-scores": 500, "backfill-grades": 2000 } as const;

export interface ScoringJobView {
  id: string;
  task: string;
  status: string;
  progress: { done: number; total: number; ratio: number };
  /** Users whose score (or grade) the job changed. */
  changed: number;
  error: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

export function scoringJobView(row: ScoringJobRow): ScoringJobView {
  const ratio = row.status === "done" ? 1 : row.total === 0 ? 0 : Math.min(1, row.done / row.total);
  return {
    id: row.id,
    task: row.task,
    status: row.status,
    progress: { done: row.done, total: Math.max(row.total, row.done), ratio: Math.round(ratio * 1000) / 1000 },
    changed: row.changed,
    error: row.error,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}

/**
 * Starts a project-wide task on the maintenance queue, or joins the one already queued or running
 * (the job id is deterministic, so re-adding it is harmless and revives a job Redis lost).
 */
export async function startScoringJob(db: Db, queues: Queues, projectId: string, task: ScoringTask): Promise<{ job: ScoringJobView; joined: boolean }> {
  const inserted = await db
    .insertInto("scoring_jobs")
    .values({ project_id: projectId, task })
    .onConflict((oc) => oc.columns(["project_id", "task"]).where("status", "in", ["queued", "running"]).doNothing())
    .returningAll()
    .executeTakeFirst();
  const row =
    inserted ??
    (await db.selectFrom("scoring_jobs").selectAll().where("project_id", "=", projectId).where("task", "=", task).where("status", "in", ["queued", "running"]).executeTakeFirst());
  if (!row) throw new AppError("conflict", "The job finished while it was being joined; start it again");
  try {
    const queued = await queues.get("maintenance").getJob(`scoring-${row.id}`);
    // Failed for good in BullMQ (its worker died mid-job too often) while the row says unfinished: revive it.
    if (queued && (await queued.isFailed())) await queued.retry();
    else if (!queued) await queues.add("maintenance", { projectId, task, params: { jobId: row.id } }, { jobId: `scoring-${row.id}` });
  } catch (err) {
    if (inserted) await db.updateTable("scoring_jobs").set({ status: "failed", error: "could not be queued", finished_at: new Date() }).where("id", "=", row.id).execute();
    throw new AppError("unavailable", `The job queue is unavailable; nothing was started (${err instanceof Error ? err.message : String(err)})`);
  }
  return { job: scoringJobView(row), joined: !inserted };
}

/** The maintenance job of every unfinished scoring job created before `before` (for the sweeper). */
export async function unfinishedScoringJobs(db: DbOrTrx, before: Date): Promise<{ jobId: string; payload: JobPayload<"maintenance"> }[]> {
  const rows = await db.selectFrom("scoring_jobs").select(["id", "project_id", "task"]).where("status", "in", ["queued", "running"]).where("created_at", "<=", before).execute();
  return rows.map((r) => ({ jobId: `scoring-${r.id}`, payload: { projectId: r.project_id, task: r.task, params: { jobId: r.id } } }));
}

export async function getScoringJob(db: DbOrTrx, projectId: string, jobId: string, task?: ScoringTask): Promise<ScoringJobView> {
  let q = db.selectFrom("scoring_jobs").selectAll().where("project_id", "=", projectId).where("id", "=", jobId);
  if (task) q = q.where("task", "=", task);
  const row = await q.executeTakeFirst();
  if (!row) throw new AppError("not_found", `Job ${jobId} not found`);
  return scoringJobView(row);
}

export interface ScoringJobDeps {
  db: Db;
  now: () => Date;
  log: Logger;
}

/**
 * Runs a scoring job chunk by chunk. Each chunk locks its users (in id order, so it never deadlocks
 * with the pipeline's single-row locks), does its set-based work and records its progress in the same
 * transaction: a retry after a crash continues after the last committed chunk.
 */
export async function runScoringJob(deps: ScoringJobDeps, jobId: string, options: { finalAttempt: boolean }): Promise<ScoringJobView | null> {
  const { db } = deps;
  const job = await db.selectFrom("scoring_jobs").selectAll().where("id", "=", jobId).executeTakeFirst();
  if (!job || job.status === "done" || job.status === "failed") return job ? scoringJobView(job) : null;
  const task = job.task as ScoringTask;
  try {
    if (job.status === "queued") {
      const { n } = await db.selectFrom("users").select((eb) => eb.fn.countAll<number>().as("n")).where("project_id", "=", job.project_id).executeTakeFirstOrThrow();
      await db.updateTable("scoring_jobs").set({ status: "running", started_at: deps.now(), total: Number(n), error: null }).where("id", "=", jobId).execute();
    }
    // One rule set (or model) for the whole job, read when it starts running.
    const rules = task === "recompute-scores" ? (await activeRules(db, job.project_id)).map(scoringRuleOf) : [];
    const model = task === "backfill-grades" ? ((await getGradeModel(db, job.project_id))?.model ?? null) : null;
    for (;;) {
      const more = await db.transaction().execute(async (trx) => {
        const current = await trx.selectFrom("scoring_jobs").select("cursor").where("id", "=", jobId).forUpdate().executeTakeFirstOrThrow();
        const now = deps.now();
        const chunk = task === "recompute-scores" ? await recomputeChunk(trx, job.project_id, current.cursor, rules, now) : await gradeChunk(trx, job.project_id, current.cursor, model, now);
        if (chunk.users === 0) return false;
        await trx
          .updateTable("scoring_jobs")
          .set({ cursor: chunk.lastId, done: sql`done + ${chunk.users}`, changed: sql`changed + ${chunk.changed}` })
          .where("id", "=", jobId)
          .execute();
        return true;
      });
      if (!more) break;
    }
    const done = await db.updateTable("scoring_jobs").set({ status: "done", finished_at: deps.now(), error: null }).where("id", "=", jobId).returningAll().executeTakeFirstOrThrow();
    deps.log.info({ jobId, task, changed: done.changed, users: done.done }, "scoring job done");
    return scoringJobView(done);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    await db
      .updateTable("scoring_jobs")
      .set(options.finalAttempt ? { status: "failed", error: message, finished_at: deps.now() } : { error: `${message} (retrying)` })
      .where("id", "=", jobId)
      .execute();
    throw err;
  }
}

interface ChunkResult {
  users: number;
  lastId: number;
  changed: number;
}

async function lockNextUsers(db: DbOrTrx, projectId: string, after: number, limit: number): Promise<number[]> {
  const rows = await db.selectFrom("users").select("id").where("project_id", "=", projectId).where("id", ">", after).orderBy("id").limit(limit).forUpdate().execute();
  return rows.map((r) => r.id);
}

async function recomputeChunk(db: DbOrTrx, projectId: string, after: number, rules: readonly ScoringRule[], now: Date): Promise<ChunkResult> {
  const ids = await lockNextUsers(db, projectId, after, CHUNK["recompute-scores"]);
  if (ids.length === 0) return { users: 0, lastId: after, changed: 0 };
  const { changed } = await recomputeUserScores(db, projectId, ids, rules, now, { tickChanged: true });
  return { users: ids.length, lastId: ids[ids.length - 1]!, changed };
}

/**
 * Grades a chunk with the same function the pipeline uses (so both always agree) and writes the
 * changed grades in one statement; changed users get a pipeline tick so segments see the new grade.
 */
async function gradeChunk(db: DbOrTrx, projectId: string, after: number, model: GradeModel | null, now: Date): Promise<ChunkResult> {
  const rows = await db
    .selectFrom("users")
    .select(["id", "properties", "grade"])
    .where("project_id", "=", projectId)
    .where("id", ">", after)
    .orderBy("id")
    .limit(CHUNK["backfill-grades"])
    .forUpdate()
    .execute();
  if (rows.length === 0) return { users: 0, lastId: after, changed: 0 };
  const changedIds: number[] = [];
  const grades: (string | null)[] = [];
  for (const row of rows) {
    const grade = computeGrade(model, row.properties)?.grade ?? null;
    if (grade !== row.grade) {
      changedIds.push(row.id);
      grades.push(grade);
    }
  }
  if (changedIds.length > 0) {
    await sql`
      UPDATE users SET grade = v.grade, next_tick_at = LEAST(users.next_tick_at, ${now}::timestamptz)
      FROM unnest(${changedIds}::bigint[], ${grades}::text[]) AS v(id, grade)
      WHERE users.id = v.id`.execute(db);
  }
  return { users: rows.length, lastId: rows[rows.length - 1]!.id, changed: changedIds.length };
}
