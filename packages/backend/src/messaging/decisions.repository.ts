import { explainDecision, type DecisionOutcome, type DecisionTraces } from "@nurture/core";
import type { DbOrTrx } from "@nurture/db";
import { sql } from "kysely";
import { decodeCursor, encodeCursor, type Page } from "../users/users.repository";

export interface NewDecision {
  projectId: string;
  campaignId: string;
  userId: number;
  stage: "trigger" | "send";
  outcome: DecisionOutcome;
  reason?: string | null;
  stepId?: string | null;
  messageId?: number | null;
  trigger?: Record<string, unknown> | null;
  traces?: DecisionTraces;
  at: Date;
}

export async function recordDecisions(db: DbOrTrx, decisions: readonly NewDecision[]): Promise<void> {
  if (decisions.length > 0) await decisionsInsert(db, decisions).execute();
}

/** The statement recording decisions (at least one), for callers that send it with others. */
export function decisionsInsert(db: DbOrTrx, decisions: readonly NewDecision[]) {
  return db
    .insertInto("message_decisions")
    .values(
      decisions.map((d) => ({
        project_id: d.projectId,
        campaign_id: d.campaignId,
        user_id: d.userId,
        stage: d.stage,
        outcome: d.outcome,
        reason: d.reason ?? null,
        step_id: d.stepId ?? null,
        message_id: d.messageId ?? null,
        trigger: d.trigger ? JSON.stringify(d.trigger) : null,
        traces: JSON.stringify(d.traces ?? {}),
        created_at: d.at,
      })),
    );
}

export const recordDecision = (db: DbOrTrx, decision: NewDecision) => recordDecisions(db, [decision]);

export interface DecisionView {
  id: number;
  at: Date;
  campaignId: string;
  campaignName: string;
  stepId: string | null;
  stepIndex: number | null;
  messageId: string | null;
  stage: "trigger" | "send";
  outcome: DecisionOutcome;
  reason: string | null;
  trigger: Record<string, unknown> | null;
  traces: DecisionTraces;
  /** The decision in sentences, with every condition node that passed or failed. */
  explanation: string[];
}

/** A user's decisions, newest first, optionally for one campaign. */
export async function listDecisions(
  db: DbOrTrx,
  projectId: string,
  userId: number,
  options: { campaignId?: string; limit: number; cursor?: string },
): Promise<Page<DecisionView>> {
  const after = decodeCursor(options.cursor) as [number] | undefined;
  let q = db
    .selectFrom("message_decisions as d")
    .innerJoin("campaigns as c", "c.id", "d.campaign_id")
    .leftJoin("messages as m", "m.id", "d.message_id")
    .select(["d.id", "d.created_at", "d.campaign_id", "c.name as campaign_name", "d.step_id", "m.step_index", "d.message_id", "d.stage", "d.outcome", "d.reason", "d.trigger", "d.traces"])
    .where("d.project_id", "=", projectId)
    .where("d.user_id", "=", userId);
  if (options.campaignId) q = q.where("d.campaign_id", "=", options.campaignId);
  if (after) q = q.where("d.id", "<", Number(after[0]));
  const rows = await q.orderBy("d.id", "desc").limit(options.limit + 1).execute();
  const items = rows.slice(0, options.limit).map((r) => {
    const traces = r.traces as DecisionTraces;
    const outcome = r.outcome as DecisionOutcome;
    return {
      id: r.id,
      at: r.created_at,
      campaignId: r.campaign_id,
      campaignName: r.campaign_name,
      stepId: r.step_id,
      stepIndex: r.step_index ?? null,
      messageId: r.message_id === null ? null : String(r.message_id),
      stage: r.stage,
      outcome,
      reason: r.reason,
      trigger: r.trigger,
      traces,
      explanation: explainDecision({ outcome, reason: r.reason, traces }),
    };
  });
  const last = rows.length > options.limit ? items[items.length - 1] : undefined;
  return { items, nextCursor: last ? encodeCursor([last.id]) : null };
}

/** Rows of a card that merged into another follow it (no foreign key: the pipeline moves them). */
export async function moveDecisions(db: DbOrTrx, projectId: string, from: number, into: number): Promise<void> {
  await sql`UPDATE message_decisions SET user_id = ${into} WHERE user_id = ${from} AND project_id = ${projectId}`.execute(db);
}
