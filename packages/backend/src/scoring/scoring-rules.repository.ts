import {
  DEFAULT_SCORING_RULES,
  SCORING_LIMITS,
  type EventPropertyFilter,
  type ScoringLimit,
  type ScoringRule,
  type ScoringRuleInput,
  type ScoringRulePatch,
} from "@nurture/core";
import type { DbOrTrx, ScoringRuleRow } from "@nurture/db";
import { sql } from "kysely";
import { AppError } from "../errors";

/** A rule as the API shows it. */
export interface ScoringRuleView {
  id: string;
  name: string;
  event: string;
  where: EventPropertyFilter[] | null;
  points: number;
  limit: ScoringLimit;
  expiresAfterDays: number | null;
  enabled: boolean;
  preset: string | null;
  createdAt: Date;
  updatedAt: Date;
}

function limitOf(row: Pick<ScoringRuleRow, "limit_type" | "limit_times">): ScoringLimit {
  if (row.limit_type === "max_times") return { type: "max_times", times: row.limit_times ?? 1 };
  if (row.limit_type === "once_per_user" || row.limit_type === "once_per_day") return { type: row.limit_type };
  return { type: "none" };
}

export function ruleView(row: ScoringRuleRow): ScoringRuleView {
  return {
    id: row.id,
    name: row.name,
    event: row.event_name,
    where: (row.filter as EventPropertyFilter[] | null) ?? null,
    points: row.points,
    limit: limitOf(row),
    expiresAfterDays: row.expires_after_days,
    enabled: row.enabled,
    preset: row.preset,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** The rule as the scoring maths takes it. */
export function scoringRuleOf(row: ScoringRuleRow): ScoringRule {
  return {
    id: row.id,
    event: row.event_name,
    where: (row.filter as EventPropertyFilter[] | null) ?? null,
    points: row.points,
    limit: limitOf(row),
    expiresAfterDays: row.expires_after_days,
  };
}

const limitColumns = (limit: ScoringLimit) => ({ limit_type: limit.type, limit_times: limit.type === "max_times" ? limit.times : null });

/** Live rules (not deleted), oldest first: the order rules are applied to one event. */
export function listScoringRules(db: DbOrTrx, projectId: string): Promise<ScoringRuleRow[]> {
  return db.selectFrom("scoring_rules").selectAll().where("project_id", "=", projectId).where("deleted_at", "is", null).orderBy("created_at").orderBy("id").execute();
}

export async function activeRules(db: DbOrTrx, projectId: string): Promise<ScoringRuleRow[]> {
  return (await listScoringRules(db, projectId)).filter((r) => r.enabled);
}

export async function getScoringRule(db: DbOrTrx, projectId: string, id: string): Promise<ScoringRuleRow> {
  const row = await db.selectFrom("scoring_rules").selectAll().where("project_id", "=", projectId).where("id", "=", id).where("deleted_at", "is", null).executeTakeFirst();
  if (!row) throw new AppError("not_found", `Scoring rule ${id} not found`);
  return row;
}

async function assertRoom(db: DbOrTrx, projectId: string, adding: number): Promise<void> {
  const { n } = await db
    .selectFrom("scoring_rules")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("project_id", "=", projectId)
    .where("deleted_at", "is", null)
    .executeTakeFirstOrThrow();
  if (Number(n) + adding > SCORING_LIMITS.maxRulesPerProject) throw new AppError("conflict", `A project has at most ${SCORING_LIMITS.maxRulesPerProject} scoring rules`);
}

export async function createScoringRule(db: DbOrTrx, projectId: string, input: ScoringRuleInput): Promise<ScoringRuleRow> {
  await assertRoom(db, projectId, 1);
  return db
    .insertInto("scoring_rules")
    .values({
      project_id: projectId,
      name: input.name,
      event_name: input.event,
      filter: input.where ? JSON.stringify(input.where) : null,
      points: input.points,
      ...limitColumns(input.limit ?? { type: "none" }),
      expires_after_days: input.expiresAfterDays ?? null,
      enabled: input.enabled ?? true,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Applies to future events only; `POST /v1/scoring/recompute` restates the existing history. */
export async function updateScoringRule(db: DbOrTrx, projectId: string, id: string, patch: ScoringRulePatch, now: Date): Promise<ScoringRuleRow> {
  const row = await db
    .updateTable("scoring_rules")
    .set({
      ...(patch.name !== undefined ? { name: patch.name } : {}),
      ...(patch.event !== undefined ? { event_name: patch.event } : {}),
      ...(patch.where !== undefined ? { filter: patch.where === null ? null : JSON.stringify(patch.where) } : {}),
      ...(patch.points !== undefined ? { points: patch.points } : {}),
      ...(patch.limit !== undefined ? limitColumns(patch.limit) : {}),
      ...(patch.expiresAfterDays !== undefined ? { expires_after_days: patch.expiresAfterDays } : {}),
      ...(patch.enabled !== undefined ? { enabled: patch.enabled } : {}),
      updated_at: now,
    })
    .where("project_id", "=", projectId)
    .where("id", "=", id)
    .where("deleted_at", "is", null)
    .returningAll()
    .executeTakeFirst();
  if (!row) throw new AppError("not_found", `Scoring rule ${id} not found`);
  return row;
}

/** Soft delete: points it awarded stand (and still expire) until the scores are recomputed. */
export async function deleteScoringRule(db: DbOrTrx, projectId: string, id: string, now: Date): Promise<void> {
  const result = await db
    .updateTable("scoring_rules")
    .set({ deleted_at: now, updated_at: now })
    .where("project_id", "=", projectId)
    .where("id", "=", id)
    .where("deleted_at", "is", null)
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) === 0) throw new AppError("not_found", `Scoring rule ${id} not found`);
}

/** Adds the default set; rules of the set already present (by preset key) are left as they are. */
export async function loadDefaultScoringRules(db: DbOrTrx, projectId: string): Promise<{ created: ScoringRuleRow[]; existing: number }> {
  await assertRoom(db, projectId, 0);
  const values = DEFAULT_SCORING_RULES.map((d, i) => ({
    project_id: projectId,
    name: d.name,
    event_name: d.event,
    filter: null,
    points: d.points,
    ...limitColumns(d.limit),
    expires_after_days: null,
    preset: d.preset,
    // Keeps the set's order as the order its rules apply in.
    created_at: sql<Date>`now() + ${`${i} microseconds`}::interval`,
  }));
  const created = await db
    .insertInto("scoring_rules")
    .values(values as never)
    .onConflict((oc) => oc.columns(["project_id", "preset"]).where("preset", "is not", null).where("deleted_at", "is", null).doNothing())
    .returningAll()
    .execute();
  return { created, existing: DEFAULT_SCORING_RULES.length - created.length };
}
