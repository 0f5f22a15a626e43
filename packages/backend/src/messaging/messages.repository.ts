import type { DecisionTraces, PriorSeries } from "@nurture/core";
import { prepared, type DbOrTrx, type MessageRow } from "@nurture/db";
import { sql, type RawBuilder } from "kysely";

/** Statuses after which nothing more happens to a message (besides recipient activity). */
export const FINAL_STATUSES = ["sent", "cancelled", "held", "skipped", "failed"] as const;

/** A campaign's series the user started, as JSON: `[created_at, window_key, live, held_at]` each. */
function seriesJson(campaignId: RawBuilder<string>, userId: number): RawBuilder<unknown> {
  return sql`(SELECT coalesce(json_agg(json_build_array(s.created_at, s.window_key,
      EXISTS (SELECT 1 FROM messages m WHERE m.series_id = s.id AND (m.sent_at IS NOT NULL OR m.status IN ('queued', 'sending'))),
      (SELECT max(m.finished_at) FROM messages m WHERE m.series_id = s.id AND m.status = 'held'))), '[]')
    FROM messages s
    WHERE s.campaign_id = ${campaignId} AND s.user_id = ${userId} AND s.step_index = 0)`;
}

const parseSeries = (value: unknown): PriorSeries[] =>
  (value as [string, string, boolean, string | null][]).map(([startedAt, windowKey, live, heldAt]) => ({
    startedAt: new Date(startedAt),
    windowKey,
    live,
    heldAt: heldAt === null ? null : new Date(heldAt),
  }));

/** The series of a campaign the user already started, for the repetition policy. */
export async function priorSeries(db: DbOrTrx, campaignId: string, userId: number): Promise<PriorSeries[]> {
  const row = await prepared(sql<{ series: unknown }>`SELECT ${seriesJson(sql`${campaignId}::uuid`, userId)} AS series`, 1).execute(db);
  return parseSeries(row.rows[0]!.series);
}

/**
 * For a pipeline run's up-front read: the prior series of each active campaign whose trigger names
 * an event of `eventNames` (a set of event names in SQL), keyed by campaign id. Campaigns
 * triggered by the run's system events are not in it; the trigger step reads theirs itself.
 */
export function priorSeriesForEventsSelect(projectId: string, userId: number, eventNames: RawBuilder<unknown>): RawBuilder<unknown> {
  return sql`(SELECT coalesce(json_object_agg(c.id, ${seriesJson(sql`c.id`, userId)}), '{}')
    FROM campaigns c
    WHERE c.project_id = ${projectId} AND c.status = 'active' AND c.trigger_events && ARRAY(${eventNames}))`;
}

export function parsePriorSeriesByCampaign(value: unknown): Map<string, PriorSeries[]> {
  return new Map(Object.entries(value as Record<string, unknown>).map(([id, series]) => [id, parseSeries(series)]));
}

export interface NewMessage {
  projectId: string;
  campaignId: string;
  stepId: string;
  stepIndex: number;
  userId: number;
  windowKey: string;
  /** The series' first message; omitted for a first step (the message is its own series). */
  seriesId?: number;
  channel: string;
  trigger: Record<string, unknown>;
  scheduledFor: Date;
  createdAt: Date;
  /** The "queued" decision recorded with the row: why, the audience's trace, and the trigger if it is to be shown. */
  queued: { reason: string; traces?: DecisionTraces; trigger?: Record<string, unknown> };
  /**
   * Already delivered as it is written (a popup or chat message that went into the inbox the
   * moment it was triggered): recorded sent, with its content, its "sent" decision after the
   * "queued" one, and for a chat message its line in the conversation.
   */
  sentNow?: { content: Record<string, unknown>; reason: string; chatLine: { author: string | null; text: string } | null };
  /**
   * For a caller that sends the insert without waiting for its answer: when the row exists
   * already, the statement records the "already_received" trigger decision, with this reason.
   */
  ifExists?: string;
}

/**
 * Inserts a ledger row, with its "queued" decision, unless one exists for (campaign, step, user,
 * window): the unique key decides, so duplicate triggers and retried runs add nothing. Returns the
 * new row, or null when it existed (and no decision was recorded).
 */
export async function insertMessage(db: DbOrTrx, m: NewMessage): Promise<MessageRow | null> {
  return (await insertMessageStatement(m).execute(db)).rows[0] ?? null;
}

/** The statement `insertMessage` runs, returning the new row (none when it existed). */
export function insertMessageStatement(m: NewMessage): RawBuilder<MessageRow> {
  const sent = m.sentNow;
  // One round trip: a first step takes its id from the sequence and is its own series.
  return prepared(sql<MessageRow>`
    WITH n AS (SELECT nextval(pg_get_serial_sequence('messages', 'id')) AS id),
    inserted AS (
      INSERT INTO messages (id, project_id, campaign_id, step_id, step_index, user_id, window_key, series_id, channel, trigger, scheduled_for, created_at
        ${sent ? sql`, status, sent_at, finished_at, content, attempts` : sql``})
      SELECT n.id, ${m.projectId}, ${m.campaignId}, ${m.stepId}, ${m.stepIndex}, ${m.userId}, ${m.windowKey}, coalesce(${m.seriesId ?? null}::bigint, n.id), ${m.channel}, ${JSON.stringify(m.trigger)}::jsonb, ${m.scheduledFor}, ${m.createdAt}
        ${sent ? sql`, 'sent', ${m.createdAt}, ${m.createdAt}, ${JSON.stringify(sent.content)}::jsonb, 1` : sql``}
      FROM n
      ON CONFLICT ON CONSTRAINT messages_once DO NOTHING
      RETURNING *
    ),
    decision AS (
      INSERT INTO message_decisions (project_id, campaign_id, user_id, stage, outcome, reason, step_id, message_id, trigger, traces, created_at)
      SELECT project_id, campaign_id, user_id, 'trigger', 'queued', ${m.queued.reason}, step_id, id,
             ${m.queued.trigger ? JSON.stringify(m.queued.trigger) : null}::jsonb, ${JSON.stringify(m.queued.traces ?? {})}::jsonb, created_at
      FROM inserted
      ${sent ? sql`UNION ALL SELECT project_id, campaign_id, user_id, 'send', 'sent', ${sent.reason}, step_id, id, NULL, '{}'::jsonb, created_at FROM inserted` : sql``}
    )
    ${sent?.chatLine ? sql`, line AS (
      INSERT INTO conversation_lines (project_id, user_id, message_id, direction, author, text, created_at)
      SELECT project_id, user_id, id, 'out', ${sent.chatLine.author}, ${sent.chatLine.text}, created_at FROM inserted
    )` : sql``}
    ${m.ifExists !== undefined ? sql`, existed AS (
      INSERT INTO message_decisions (project_id, campaign_id, user_id, stage, outcome, reason, step_id, trigger, traces, created_at)
      SELECT ${m.projectId}, ${m.campaignId}, ${m.userId}, 'trigger', 'already_received', ${m.ifExists}, ${m.stepId},
             ${m.queued.trigger ? JSON.stringify(m.queued.trigger) : null}::jsonb, '{}'::jsonb, ${m.createdAt}
      WHERE NOT EXISTS (SELECT 1 FROM inserted)
    )` : sql``}
    SELECT * FROM inserted
  `, 1);
}

export function getMessage(db: DbOrTrx, projectId: string, id: number): Promise<MessageRow | undefined> {
  return db.selectFrom("messages").selectAll().where("project_id", "=", projectId).where("id", "=", id).executeTakeFirst();
}

/**
 * Moves a merged-away card's messages to the surviving card. Where both cards hold a message for
 * the same step and window, the moved one gets a distinct window key so neither is lost.
 */
export async function moveMessages(db: DbOrTrx, projectId: string, from: number, into: number): Promise<void> {
  await sql`
    UPDATE messages m SET user_id = ${into},
      window_key = CASE WHEN EXISTS (
        SELECT 1 FROM messages t WHERE t.campaign_id = m.campaign_id AND t.step_id = m.step_id AND t.user_id = ${into} AND t.window_key = m.window_key
      ) THEN m.window_key || '~' || m.id ELSE m.window_key END,
      updated_at = now()
    WHERE m.user_id = ${from} AND m.project_id = ${projectId}
  `.execute(db);
  await sql`UPDATE conversation_lines SET user_id = ${into} WHERE user_id = ${from} AND project_id = ${projectId}`.execute(db);
  await sql`UPDATE message_conversions SET user_id = ${into} WHERE user_id = ${from} AND project_id = ${projectId}`.execute(db);
  await sql`UPDATE email_unsubscribes SET user_id = ${into} WHERE user_id = ${from} AND project_id = ${projectId}`.execute(db);
}

/**
 * The card a merged-away user id now lives in: merges leave a `$users_merged` event on the target.
 * Null when the user is simply gone.
 */
export async function mergedInto(db: DbOrTrx, projectId: string, userId: number): Promise<number | null> {
  const row = await db
    .selectFrom("events")
    .select("user_id")
    .where("project_id", "=", projectId)
    .where("name", "=", "$users_merged")
    .where(sql<boolean>`properties->>'mergedUserId' = ${String(userId)}`)
    .orderBy("id", "desc")
    .executeTakeFirst();
  return row?.user_id ?? null;
}
