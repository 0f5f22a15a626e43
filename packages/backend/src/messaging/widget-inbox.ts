import { randomUUID } from "node:crypto";
import { prepared, type Db } from "@nurture/db";
import { sql } from "kysely";
import { AppError } from "../errors";
import type { IncomingEvent } from "../ingest/incoming-event";
import { ingestEvents } from "../ingest/ingest-events";

/** Popups and chat messages stay in the inbox this long unless the visitor acts on them. */
export const INBOX_TTL_MS = 30 * 86_400_000;

export interface WidgetMessage {
  id: string;
  channel: "popup" | "chat";
  content: { title?: string; body?: string; buttonLabel?: string; buttonUrl?: string; text?: string; senderName?: string };
  createdAt: string;
}

const CONTENT_FIELDS = ["title", "body", "buttonLabel", "buttonUrl", "text", "senderName"] as const;

/** A ledger row of the inbox as the widget is given it. */
export function widgetMessage(id: number, channel: "popup" | "chat", stored: Record<string, unknown> | null, sentAt: Date | string): WidgetMessage {
  const content: WidgetMessage["content"] = {};
  for (const key of CONTENT_FIELDS) if (typeof stored?.[key] === "string") content[key] = stored[key] as string;
  return { id: String(id), channel, content, createdAt: new Date(sentAt).toISOString() };
}

/** What the widget needs to answer a visitor: the project's current settings, the visitor's card (if any), and optionally the inbox. */
export interface WidgetVisitor {
  /** Read fresh, not from the write-key cache: turning identity verification on takes effect at once. */
  settings: Record<string, unknown>;
  user: { id: number; userId: string | null } | null;
  /** Pending popups and chat messages: sent and not yet clicked, dismissed or replied to. */
  inbox: WidgetMessage[];
}

/**
 * One round trip for the widget, which every open page polls: the project's settings, the visitor's
 * card (by the site's user id when given, else by the browser's anonymous id) and, with
 * `inbox: true`, their pending messages, oldest first.
 */
export async function loadWidgetVisitor(
  db: Db,
  projectId: string,
  visitor: { anonymousId: string; userId?: string | undefined },
  now: Date,
  options: { inbox: boolean },
): Promise<WidgetVisitor> {
  const card =
    visitor.userId !== undefined
      ? sql`SELECT id, user_id FROM users WHERE project_id = ${projectId} AND user_id = ${visitor.userId}`
      : sql`SELECT u.id, u.user_id FROM anonymous_ids a JOIN users u ON u.id = a.user_id WHERE a.project_id = ${projectId} AND a.anonymous_id = ${visitor.anonymousId}`;
  const inbox = options.inbox
    ? sql`(SELECT coalesce(json_agg(json_build_array(m.id, m.channel, m.content, m.sent_at) ORDER BY m.sent_at, m.id), '[]') FROM (
        SELECT m.id, m.channel, m.content, m.sent_at FROM messages m, card
        WHERE m.project_id = ${projectId} AND m.user_id = card.id AND m.channel IN ('popup', 'chat') AND m.status = 'sent'
          AND m.dismissed_at IS NULL AND m.clicked_at IS NULL AND m.replied_at IS NULL AND m.sent_at >= ${new Date(now.getTime() - INBOX_TTL_MS)}
        ORDER BY m.sent_at, m.id LIMIT 20) m)`
    : sql`'[]'::json`;
  const row = (
    await prepared(sql<{ settings: Record<string, unknown> | null; id: number | null; user_id: string | null; inbox: [number, "popup" | "chat", Record<string, unknown> | null, string][] }>`
      WITH card AS (${card} LIMIT 1)
      SELECT (SELECT settings FROM projects WHERE id = ${projectId}) AS settings, card.id, card.user_id, ${inbox} AS inbox
      FROM (SELECT 1) AS one LEFT JOIN card ON true
    `, 1).execute(db)
  ).rows[0]!;
  return {
    settings: row.settings ?? {},
    user: row.id === null ? null : { id: row.id, userId: row.user_id },
    inbox: row.inbox.map(([id, channel, content, sentAt]) => widgetMessage(id, channel, content, sentAt)),
  };
}

export type WidgetAction = "shown" | "clicked" | "dismissed" | "reply";

/**
 * Records what the visitor did with a message of their own inbox. A reply becomes a conversation
 * line on the card and a `$message_replied` event (through ingestion, so it can trigger campaigns);
 * a popup click becomes `$message_clicked`. Returns the users to signal to the pipeline.
 */
export async function recordWidgetAction(
  db: Db,
  projectId: string,
  visitor: { user: { id: number }; anonymousId: string; userId?: string | undefined },
  messageId: number,
  action: WidgetAction,
  text: string | undefined,
  now: Date,
): Promise<number[]> {
  const message = await db
    .selectFrom("messages")
    .select(["id", "campaign_id", "channel", "status"])
    .where("id", "=", messageId)
    .where("project_id", "=", projectId)
    .where("user_id", "=", visitor.user.id)
    .where("channel", "in", ["popup", "chat"])
    .executeTakeFirst();
  if (!message || message.status !== "sent") throw new AppError("not_found", "Message not found in this visitor's inbox");
  if (action === "reply" && (text === undefined || text.trim() === "")) throw new AppError("validation_failed", "A reply needs text", [{ path: "body.text", message: "required for a reply" }]);

  const column = { shown: "delivered_at", clicked: "clicked_at", dismissed: "dismissed_at", reply: "replied_at" } as const;
  await db.transaction().execute(async (trx) => {
    await trx
      .updateTable("messages")
      .set((eb) => ({
        [column[action]]: eb.fn.coalesce(column[action], eb.val(now)),
        // Acting on a message means it was shown.
        delivered_at: eb.fn.coalesce("delivered_at", eb.val(now)),
        updated_at: sql`now()`,
      }))
      .where("id", "=", messageId)
      .execute();
    await trx
      .insertInto("message_events")
      .values({ project_id: projectId, message_id: messageId, type: action === "reply" ? "replied" : action, detail: JSON.stringify(action === "reply" ? { length: text!.length } : {}), occurred_at: now })
      .execute();
    if (action === "reply") {
      await trx.insertInto("conversation_lines").values({ project_id: projectId, user_id: visitor.user.id, message_id: messageId, direction: "in", author: null, text: text!, created_at: now }).execute();
    }
  });

  if (action !== "reply" && !(action === "clicked" && message.channel === "popup")) return [];
  const who = visitor.userId !== undefined ? { userId: visitor.userId } : { anonymousId: visitor.anonymousId };
  const event: IncomingEvent =
    action === "reply"
      ? { type: "track", name: "$message_replied", messageId: `$message_replied:${randomUUID()}`, properties: { messageId: String(messageId), campaignId: message.campaign_id, text }, context: { source: "widget" }, occurredAt: now, ...who }
      : { type: "track", name: "$message_clicked", messageId: `$message_clicked:${messageId}`, properties: { messageId: String(messageId), campaignId: message.campaign_id, channel: message.channel }, context: { source: "widget" }, occurredAt: now, ...who };
  const result = await ingestEvents(db, projectId, [event]);
  return result.stored > 0 ? result.userIds : [];
}
