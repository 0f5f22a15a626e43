import type { DbOrTrx } from "@nurture/db";
import { sql } from "kysely";
import { AppError } from "../errors";

export interface StepStats {
  /** Ledger rows: people this step was scheduled for. */
  scheduled: number;
  pending: number;
  sent: number;
  /** Email: accepted by the SMTP server; popup/chat: shown in the widget. */
  delivered: number;
  opened: number;
  clicked: number;
  replied: number;
  dismissed: number;
  unsubscribed: number;
  held: number;
  skipped: number;
  cancelled: number;
  failed: number;
  converted: number;
  /** converted ÷ sent (0 when nothing was sent). */
  conversionRate: number;
  revenue: number;
}

export interface CampaignStats {
  campaignId: string;
  from: Date;
  to: Date;
  /** Series started (the trigger fired and the user was in the audience). */
  triggered: number;
  /** Every trigger that reached the campaign, by decision (queued, not_in_audience, already_received…). */
  triggers: Record<string, number>;
  total: StepStats;
  steps: (StepStats & { stepId: string; position: number | null; channel: string })[];
}

/** One grouped row per step: the step's counts plus how many series it started. */
type Row = Omit<StepStats, "conversionRate"> & { step_id: string; position: number | null; channel: string; series: number };

const COUNTS = ["scheduled", "pending", "sent", "delivered", "opened", "clicked", "replied", "dismissed", "unsubscribed", "held", "skipped", "cancelled", "failed", "converted", "revenue"] as const;

function finish(counts: Omit<StepStats, "conversionRate">): StepStats {
  return { ...counts, revenue: Math.round(counts.revenue * 100) / 100, conversionRate: counts.sent === 0 ? 0 : Math.round((counts.converted / counts.sent) * 10_000) / 10_000 };
}

/** Per step and in total, for messages created in [from, to). Computed by one grouped scan of the campaign's messages. */
export async function campaignStats(db: DbOrTrx, projectId: string, campaignId: string, from: Date, to: Date): Promise<CampaignStats> {
  const campaign = await db.selectFrom("campaigns").select("id").where("project_id", "=", projectId).where("id", "=", campaignId).executeTakeFirst();
  if (!campaign) throw new AppError("not_found", "Campaign not found");
  const rows = await sql<Row>`
    WITH m AS (
      SELECT * FROM messages WHERE campaign_id = ${campaignId} AND created_at >= ${from} AND created_at < ${to}
    ), revenue AS (
      SELECT c.message_id, sum(c.revenue) AS revenue FROM message_conversions c JOIN m ON m.id = c.message_id GROUP BY c.message_id
    )
    SELECT s.id AS step_id, s.position, s.channel,
      count(m.id)::int AS scheduled,
      count(m.id) FILTER (WHERE m.step_index = 0)::int AS series,
      count(m.id) FILTER (WHERE m.status IN ('queued', 'sending'))::int AS pending,
      count(m.sent_at)::int AS sent,
      count(m.delivered_at)::int AS delivered,
      count(m.opened_at)::int AS opened,
      count(m.clicked_at)::int AS clicked,
      count(m.replied_at)::int AS replied,
      count(m.dismissed_at)::int AS dismissed,
      count(m.unsubscribed_at)::int AS unsubscribed,
      count(m.id) FILTER (WHERE m.status = 'held')::int AS held,
      count(m.id) FILTER (WHERE m.status = 'skipped')::int AS skipped,
      count(m.id) FILTER (WHERE m.status = 'cancelled')::int AS cancelled,
      count(m.id) FILTER (WHERE m.status = 'failed')::int AS failed,
      count(m.converted_at)::int AS converted,
      coalesce(sum(r.revenue), 0)::float8 AS revenue
    FROM campaign_steps s
    LEFT JOIN m ON m.step_id = s.id
    LEFT JOIN revenue r ON r.message_id = m.id
    WHERE s.campaign_id = ${campaignId}
    GROUP BY s.id, s.position, s.channel
    HAVING s.position IS NOT NULL OR count(m.id) > 0
    ORDER BY s.position NULLS LAST, s.created_at
  `.execute(db);
  const triggers = await sql<{ outcome: string; n: number }>`
    SELECT outcome, count(*)::int AS n FROM message_decisions
    WHERE campaign_id = ${campaignId} AND stage = 'trigger' AND created_at >= ${from} AND created_at < ${to}
      AND (message_id IS NULL OR message_id IN (SELECT id FROM messages WHERE campaign_id = ${campaignId} AND step_index = 0))
    GROUP BY outcome
  `.execute(db);
  const total = Object.fromEntries(COUNTS.map((k) => [k, 0])) as Omit<StepStats, "conversionRate">;
  for (const row of rows.rows) for (const k of COUNTS) total[k] += Number(row[k]);
  return {
    campaignId,
    from,
    to,
    triggered: rows.rows.reduce((n, r) => n + Number(r.series), 0),
    triggers: Object.fromEntries(triggers.rows.map((t) => [t.outcome, t.n])),
    total: finish(total),
    steps: rows.rows.map((r) => ({
      stepId: r.step_id,
      position: r.position,
      channel: r.channel,
      ...finish(Object.fromEntries(COUNTS.map((k) => [k, Number(r[k])])) as Omit<StepStats, "conversionRate">),
    })),
  };
}
