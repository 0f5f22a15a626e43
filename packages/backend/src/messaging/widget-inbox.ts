import { randomUUID } from "node:crypto";
import type { Db, UserRow } from "@nurture/db";
import { sql } from "kysely";
import { AppError } from "../errors";
import type { IncomingEvent } from "../ingest/incoming-event";
import { ingestEvents } from "../ingest/ingest-events";
import { findUser } from "../users/users.repository";

/** Popups and chat messages stay in the inbox this long unless the visitor acts on them. */
export const INBOX_TTL_MS = 30 * 86_400_000;

export interface WidgetMessage {
  id: string;
  channel: "popup" | "chat";
  content: { title?: string; body?: string; buttonLabel?: string; buttonUrl?: string; text?: string; senderName?: string };
  createdAt: string;
}

/** The visitor's card: by the site's user id when given, else by the browser's anonymous id. */
export async function findWidgetVisitor(db: Db, projectId: string, visitor: { anonymousId: string; userId?: string | undefined }): Promise<UserRow | undefined> {
  if (visitor.userId !== undefined) return findUser(db, projectId, visitor.userId, "userId");
  return findUser(db, projectId, visitor.anonymousId, "anonymousId");
}

const CONTENT_FIELDS = ["title", "body", "buttonLabel", "buttonUrl", "text", "senderName"] as const;

/** Pending popups and chat messages: sent to the inbox and not yet clicked, dismissed or replied to. */
export async function listInbox(db: Db, projectId: string, userId: number, now: Date): Promise<WidgetMessage[]> {
  const rows = await db
    .selectFrom("messages")
    .select(["id", "channel", "content", "sent_at"])
    .where("project_id", "=", projectId)
    .where("user_id", "=", userId)
    .where("channel", "in", ["popup", "chat"])
    .where("status", "=", "sent")
    .where("dismissed_at", "is", null)
    .where("clicked_at", "is", null)
    .where("replied_at", "is", null)
    .where("sent_at", ">=", new Date(now.getTime() - INBOX_TTL_MS))
    .orderBy("sent_at")
    .limit(20)
    .execute();
  return rows.map((r) => {
    const stored = (r.content ?? {}) as Record<string, unknown>;
    const content: WidgetMessage["content"] = {};
    for (const key of CONTENT_FIELDS) if (typeof stored[key] === "string") content[key] = stored[key] as string;
    return { id: String(r.id), channel: r.channel as "popup" | "chat", content, createdAt: r.sent_at!.toISOString() };
  });
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
  visitor: { user: UserRow; anonymousId: string; userId?: string | undefined },
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
