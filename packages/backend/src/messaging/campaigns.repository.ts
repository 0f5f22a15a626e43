import {
  canTransition,
  delayMs,
  triggerEventNames,
  type CampaignGoal,
  type CampaignInput,
  type CampaignStatus,
  type CampaignTrigger,
  type Channel,
  type Condition,
  type Delay,
  type RepeatPolicy,
  type StepContent,
} from "@nurture/core";
import type { CampaignRow, CampaignStepRow, DbOrTrx, ProjectRow } from "@nurture/db";
import { sql, type RawBuilder } from "kysely";
import { AppError } from "../errors";
import { forProjectConfig } from "../projects/project-config-cache";
import { inTransaction } from "./in-transaction";
import { decodeCursor, encodeCursor, type Page } from "../users/users.repository";

export interface CampaignStep {
  id: string;
  /** Place in the series (0 first); null once removed from the campaign. */
  position: number | null;
  delay: Delay | null;
  delayMs: number;
  condition: Condition | null;
  channel: Channel;
  content: StepContent["content"];
}

export interface Campaign {
  id: string;
  projectId: string;
  name: string;
  description: string | null;
  status: CampaignStatus;
  trigger: CampaignTrigger;
  audience: Condition | null;
  repeat: RepeatPolicy;
  goal: CampaignGoal | null;
  version: number;
  activatedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  /** The live steps in order. */
  steps: CampaignStep[];
}

// Stored JSON was validated by the campaign schema when saved; reading it back trusts that.
export function stepOf(row: CampaignStepRow): CampaignStep {
  return {
    id: row.id,
    position: row.position,
    delay: (row.delay as Delay | null) ?? null,
    delayMs: row.delay_ms,
    condition: (row.condition as Condition | null) ?? null,
    channel: row.channel as Channel,
    content: row.content as StepContent["content"],
  };
}

export function campaignOf(row: CampaignRow, steps: CampaignStepRow[]): Campaign {
  return {
    id: row.id,
    projectId: row.project_id,
    name: row.name,
    description: row.description,
    status: row.status as CampaignStatus,
    trigger: row.trigger as CampaignTrigger,
    audience: (row.audience as Condition | null) ?? null,
    repeat: row.repeat as RepeatPolicy,
    goal: (row.goal as CampaignGoal | null) ?? null,
    version: row.version,
    activatedAt: row.activated_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    steps: steps
      .filter((s) => s.campaign_id === row.id && s.position !== null)
      .sort((a, b) => a.position! - b.position!)
      .map(stepOf),
  };
}

async function withSteps(db: DbOrTrx, rows: CampaignRow[]): Promise<Campaign[]> {
  if (rows.length === 0) return [];
  const steps = await db
    .selectFrom("campaign_steps")
    .selectAll()
    .where("campaign_id", "in", rows.map((r) => r.id))
    .where("position", "is not", null)
    .execute();
  return rows.map((r) => campaignOf(r, steps));
}

/**
 * Campaigns with their live steps (and the project's settings) in one round trip: the pipeline and
 * every delivery read them, so this is on the hot path.
 */
async function selectCampaigns(db: DbOrTrx, where: RawBuilder<boolean>): Promise<(Campaign & { projectSettings: Record<string, unknown> })[]> {
  const rows = await sql<CampaignRow & { steps: CampaignStepRow[]; project_settings: Record<string, unknown> }>`
    SELECT c.*, p.settings AS project_settings,
      coalesce((SELECT json_agg(s ORDER BY s.position) FROM campaign_steps s WHERE s.campaign_id = c.id AND s.position IS NOT NULL), '[]'::json) AS steps
    FROM campaigns c JOIN projects p ON p.id = c.project_id
    WHERE ${where}
    ORDER BY c.created_at, c.id
  `.execute(db);
  return rows.rows.map((r) => ({ ...campaignOf(r, r.steps), projectSettings: r.project_settings }));
}

const campaignColumns = (input: Omit<CampaignInput, "steps">) => ({
  name: input.name,
  description: input.description ?? null,
  trigger: JSON.stringify(input.trigger),
  trigger_events: triggerEventNames(input.trigger),
  audience: input.audience === undefined ? null : JSON.stringify(input.audience),
  repeat: JSON.stringify(input.repeat),
  goal: input.goal ? JSON.stringify(input.goal) : null,
  goal_event: input.goal?.event ?? null,
});

/**
 * Writes the step list: steps sent with the id of one of the campaign's steps keep it (so people who
 * got that step are never sent it again), new ones get a new id, and steps left out are detached
 * (position NULL) but kept for history.
 */
async function writeSteps(db: DbOrTrx, projectId: string, campaignId: string, steps: CampaignInput["steps"]): Promise<void> {
  const existing = await db.selectFrom("campaign_steps").select("id").where("campaign_id", "=", campaignId).execute();
  const known = new Set(existing.map((s) => s.id));
  const seen = new Set<string>();
  steps.forEach((step, i) => {
    if (step.id === undefined) return;
    if (!known.has(step.id)) throw new AppError("validation_failed", `Step ${step.id} is not a step of this campaign`, [{ path: `body.steps.${i}.id`, message: "unknown step id for this campaign" }]);
    if (seen.has(step.id)) throw new AppError("validation_failed", `Step ${step.id} appears twice`, [{ path: `body.steps.${i}.id`, message: "duplicate step id" }]);
    seen.add(step.id);
  });
  await db.updateTable("campaign_steps").set({ position: null }).where("campaign_id", "=", campaignId).execute();
  for (const [position, step] of steps.entries()) {
    const values = {
      position,
      delay: step.delay ? JSON.stringify(step.delay) : null,
      delay_ms: delayMs(step.delay),
      condition: step.condition === undefined ? null : JSON.stringify(step.condition),
      channel: step.channel,
      content: JSON.stringify(step.content),
    };
    if (step.id) {
      await db.updateTable("campaign_steps").set({ ...values, updated_at: sql`now()` }).where("id", "=", step.id).execute();
    } else {
      await db.insertInto("campaign_steps").values({ ...values, project_id: projectId, campaign_id: campaignId }).execute();
    }
  }
}

export async function createCampaign(db: DbOrTrx, projectId: string, input: CampaignInput): Promise<Campaign> {
  const run = async (trx: DbOrTrx) => {
    const row = await trx.insertInto("campaigns").values({ project_id: projectId, ...campaignColumns(input) }).returning("id").executeTakeFirstOrThrow();
    await writeSteps(trx, projectId, row.id, input.steps.map((s) => ({ ...s, id: undefined })));
    return (await getCampaign(trx, projectId, row.id))!;
  };
  return inTransaction(db, run);
}

/** Replaces the editable parts; an active campaign stays active and keeps its ledger. */
export async function updateCampaign(db: DbOrTrx, projectId: string, id: string, input: CampaignInput): Promise<Campaign> {
  const run = async (trx: DbOrTrx) => {
    const current = await trx.selectFrom("campaigns").select(["status"]).where("project_id", "=", projectId).where("id", "=", id).forUpdate().executeTakeFirst();
    if (!current) throw new AppError("not_found", "Campaign not found");
    if (current.status === "archived") throw new AppError("conflict", "An archived campaign cannot be edited");
    await trx
      .updateTable("campaigns")
      .set({ ...campaignColumns(input), version: sql`version + 1`, updated_at: sql`now()` })
      .where("id", "=", id)
      .execute();
    await writeSteps(trx, projectId, id, input.steps);
    return (await getCampaign(trx, projectId, id))!;
  };
  return inTransaction(db, run);
}

export async function getCampaign(db: DbOrTrx, projectId: string, id: string): Promise<(Campaign & { projectSettings: Record<string, unknown> }) | undefined> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) return undefined;
  return (await selectCampaigns(db, sql<boolean>`c.project_id = ${projectId} AND c.id = ${id}`))[0];
}

export async function listCampaigns(
  db: DbOrTrx,
  projectId: string,
  options: { status?: CampaignStatus; limit: number; cursor?: string },
): Promise<Page<Campaign>> {
  const after = decodeCursor(options.cursor) as [string, string] | undefined;
  let q = db.selectFrom("campaigns").selectAll().where("project_id", "=", projectId);
  if (options.status) q = q.where("status", "=", options.status);
  if (after) q = q.where(sql<boolean>`(created_at, id) < (${after[0]}::timestamptz, ${after[1]}::uuid)`);
  const rows = await q.orderBy("created_at", "desc").orderBy("id", "desc").limit(options.limit + 1).execute();
  const items = await withSteps(db, rows.slice(0, options.limit));
  const last = rows.length > options.limit ? rows[options.limit - 1] : undefined;
  return { items, nextCursor: last ? encodeCursor([last.created_at.toISOString(), last.id]) : null };
}

/** draft → active → paused ⇄ active; anything → archived. Only active campaigns fire. */
export async function setCampaignStatus(db: DbOrTrx, projectId: string, id: string, to: CampaignStatus, now: Date): Promise<Campaign> {
  const current = await db.selectFrom("campaigns").select("status").where("project_id", "=", projectId).where("id", "=", id).executeTakeFirst();
  if (!current) throw new AppError("not_found", "Campaign not found");
  const from = current.status as CampaignStatus;
  if (from !== to) {
    if (!canTransition(from, to)) throw new AppError("conflict", `A ${from} campaign cannot become ${to}`);
    const updated = await db
      .updateTable("campaigns")
      .set({ status: to, updated_at: sql`now()`, ...(to === "active" ? { activated_at: now } : {}) })
      .where("id", "=", id)
      .where("status", "=", from)
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) === 0) throw new AppError("conflict", "The campaign changed meanwhile; try again");
  }
  return (await getCampaign(db, projectId, id))!;
}

/** Only drafts are deleted (nothing was sent); other campaigns are archived to keep their history. */
export async function deleteDraftCampaign(db: DbOrTrx, projectId: string, id: string): Promise<void> {
  const current = await db.selectFrom("campaigns").select("status").where("project_id", "=", projectId).where("id", "=", id).executeTakeFirst();
  if (!current) throw new AppError("not_found", "Campaign not found");
  if (current.status !== "draft") throw new AppError("conflict", "Only draft campaigns can be deleted; archive this one instead");
  await db.deleteFrom("campaigns").where("id", "=", id).where("status", "=", "draft").execute();
}

/**
 * For one pipeline run: the active campaigns whose trigger can react to one of these timeline
 * names, and the campaigns (any status but draft: conversions still count after a pause) whose goal
 * is one of them. The project's campaigns are read once per config version (see forProjectConfig).
 */
export async function campaignsForRun(db: DbOrTrx, project: Pick<ProjectRow, "id" | "config_version">, eventNames: readonly string[]): Promise<{ triggered: Campaign[]; goals: Campaign[] }> {
  if (eventNames.length === 0) return { triggered: [], goals: [] };
  const all = await forProjectConfig("campaigns", project, () => selectCampaigns(db, sql<boolean>`c.project_id = ${project.id} AND c.status <> 'draft'`));
  return {
    triggered: all.filter((c) => c.status === "active" && triggerEventNames(c.trigger).some((n) => eventNames.includes(n))),
    goals: all.filter((c) => c.goal !== null && eventNames.includes(c.goal.event)),
  };
}
