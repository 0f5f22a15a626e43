import { createHash } from "node:crypto";
import type { Db, DbOrTrx } from "@nurture/db";
import { sql } from "kysely";
import type { IncomingEvent } from "../ingest/incoming-event";
import { ingestEvents } from "../ingest/ingest-events";
import { mergedInto } from "./messages.repository";
import { lockUserSends } from "./send-lock";

/** Users whose timeline got an event: the caller signals the pipeline for them. */
export interface ActivityResult {
  projectId: string;
  userIds: number[];
}

interface MessageRef {
  id: number;
  project_id: string;
  user_id: number;
  campaign_id: string;
  channel: string;
}

const findMessage = (db: DbOrTrx, id: number) =>
  db.selectFrom("messages").select(["id", "project_id", "user_id", "campaign_id", "channel"]).where("id", "=", id).executeTakeFirst();

/** How the timeline names this card: its user id, else one of its anonymous ids. */
async function identityOf(db: DbOrTrx, projectId: string, userId: number): Promise<{ userId: string } | { anonymousId: string } | null> {
  let id = userId;
  let user = await db.selectFrom("users").select(["id", "user_id"]).where("id", "=", id).executeTakeFirst();
  if (!user) {
    const into = await mergedInto(db, projectId, userId);
    if (into === null) return null;
    id = into;
    user = await db.selectFrom("users").select(["id", "user_id"]).where("id", "=", id).executeTakeFirst();
    if (!user) return null;
  }
  if (user.user_id !== null) return { userId: user.user_id };
  const anon = await db.selectFrom("anonymous_ids").select("anonymous_id").where("user_id", "=", id).orderBy("created_at").executeTakeFirst();
  return anon ? { anonymousId: anon.anonymous_id } : null;
}

/**
 * Puts a recipient's action on their timeline through the ingest path, so segments, scoring and
 * campaign triggers see it like any tracked event. The message id makes a repeat a no-op.
 */
async function timelineEvent(db: Db, message: MessageRef, name: string, dedupeKey: string, properties: Record<string, unknown>, at: Date): Promise<number[]> {
  const who = await identityOf(db, message.project_id, message.user_id);
  if (!who) return [];
  const event: IncomingEvent = { type: "track", name, messageId: `${name}:${dedupeKey}`, properties, context: { source: "nurture" }, occurredAt: at, ...who };
  const result = await ingestEvents(db, message.project_id, [event]);
  return result.stored > 0 ? result.userIds : [];
}

async function addMessageEvent(db: DbOrTrx, message: MessageRef, type: "opened" | "clicked" | "unsubscribed", detail: Record<string, unknown>, at: Date) {
  await db.insertInto("message_events").values({ project_id: message.project_id, message_id: message.id, type, detail: JSON.stringify(detail), occurred_at: at }).execute();
}

/** The open pixel was loaded: the first open is stamped and goes on the timeline as `$email_opened`. */
export async function recordEmailOpen(db: Db, messageId: number, at: Date): Promise<ActivityResult | null> {
  const message = await findMessage(db, messageId);
  if (!message) return null;
  await addMessageEvent(db, message, "opened", {}, at);
  const first = await db.updateTable("messages").set({ opened_at: at, updated_at: sql`now()` }).where("id", "=", messageId).where("opened_at", "is", null).executeTakeFirst();
  const userIds = Number(first.numUpdatedRows) > 0 ? await timelineEvent(db, message, "$email_opened", String(messageId), { messageId: String(messageId), campaignId: message.campaign_id }, at) : [];
  return { projectId: message.project_id, userIds };
}

/** A tracked link was followed: counted (a click implies an open) and put on the timeline once per link. */
export async function recordEmailClick(db: Db, messageId: number, url: string, at: Date): Promise<ActivityResult | null> {
  const message = await findMessage(db, messageId);
  if (!message) return null;
  await addMessageEvent(db, message, "clicked", { url }, at);
  await db
    .updateTable("messages")
    .set((eb) => ({ clicked_at: eb.fn.coalesce("clicked_at", eb.val(at)), opened_at: eb.fn.coalesce("opened_at", eb.val(at)), updated_at: sql`now()` }))
    .where("id", "=", messageId)
    .execute();
  const key = `${messageId}:${createHash("sha256").update(url).digest("base64url").slice(0, 16)}`;
  const userIds = await timelineEvent(db, message, "$email_clicked", key, { messageId: String(messageId), campaignId: message.campaign_id, url }, at);
  return { projectId: message.project_id, userIds };
}

/**
 * Unsubscribes the message's recipient from all email of the project (RFC 8058 one-click or the
 * confirmation page). Idempotent: a second click changes nothing and reports success.
 */
export async function unsubscribeByMessage(db: Db, messageId: number, source: "one_click" | "link", at: Date): Promise<ActivityResult | null> {
  const message = await findMessage(db, messageId);
  if (!message) return null;
  const changed = await db.transaction().execute(async (trx) => {
    const user = await trx
      .updateTable("users")
      .set({ email_unsubscribed_at: at, updated_at: sql`now()` })
      .where("id", "=", message.user_id)
      .where("email_unsubscribed_at", "is", null)
      .returning("id")
      .executeTakeFirst();
    const stamped = await trx.updateTable("messages").set({ unsubscribed_at: at, updated_at: sql`now()` }).where("id", "=", messageId).where("unsubscribed_at", "is", null).executeTakeFirst();
    if (Number(stamped.numUpdatedRows) > 0) {
      await addMessageEvent(trx, message, "unsubscribed", { source }, at);
      await trx.insertInto("email_unsubscribes").values({ project_id: message.project_id, user_id: message.user_id, message_id: messageId, campaign_id: message.campaign_id, source, created_at: at }).execute();
    }
    return user !== undefined;
  });
  // Committed first, so sends queued behind an email being handed over right now see it and skip;
  // then waits for that one email, so nothing more goes out once the one-click POST is answered.
  if (changed) await db.transaction().execute((trx) => lockUserSends(trx, message.user_id));
  const userIds = changed ? await timelineEvent(db, message, "$unsubscribed", String(messageId), { messageId: String(messageId), campaignId: message.campaign_id, channel: "email", source }, at) : [];
  return { projectId: message.project_id, userIds };
}
