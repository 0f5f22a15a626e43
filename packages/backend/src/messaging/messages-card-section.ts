import type { DbOrTrx, UserRow } from "@nurture/db";

/** The furthest a message got, in the order a marketer reads it. */
function displayStatus(m: {
  status: string;
  sent_at: Date | null;
  delivered_at: Date | null;
  opened_at: Date | null;
  clicked_at: Date | null;
  replied_at: Date | null;
  converted_at: Date | null;
  channel: string;
}): string {
  if (m.status !== "sent") return m.status;
  if (m.converted_at) return "converted";
  if (m.replied_at) return "replied";
  if (m.clicked_at) return "clicked";
  if (m.opened_at) return "opened";
  if (m.delivered_at) return m.channel === "popup" || m.channel === "chat" ? "shown" : "delivered";
  return "sent";
}

/**
 * The card's "messages" and "conversation" sections: every message sent (or not) to the user with its
 * status and reason, and the chat lines both ways.
 */
export async function messagesCardSection(db: DbOrTrx, user: UserRow): Promise<Record<string, unknown>> {
  const [messages, lines] = await Promise.all([
    db
      .selectFrom("messages as m")
      .innerJoin("campaigns as c", "c.id", "m.campaign_id")
      .select([
        "m.id",
        "m.campaign_id",
        "c.name as campaign_name",
        "m.step_id",
        "m.step_index",
        "m.channel",
        "m.status",
        "m.reason",
        "m.content",
        "m.recipient",
        "m.scheduled_for",
        "m.created_at",
        "m.sent_at",
        "m.delivered_at",
        "m.opened_at",
        "m.clicked_at",
        "m.replied_at",
        "m.dismissed_at",
        "m.unsubscribed_at",
        "m.converted_at",
      ])
      .where("m.user_id", "=", user.id)
      .orderBy("m.created_at", "desc")
      .orderBy("m.id", "desc")
      .limit(100)
      .execute(),
    db
      .selectFrom("conversation_lines")
      .select(["id", "message_id", "direction", "author", "text", "created_at"])
      .where("user_id", "=", user.id)
      .orderBy("created_at", "desc")
      .orderBy("id", "desc")
      .limit(100)
      .execute(),
  ]);
  return {
    messages: messages.map((m) => {
      const content = (m.content ?? {}) as Record<string, unknown>;
      return {
        id: String(m.id),
        campaignId: m.campaign_id,
        campaignName: m.campaign_name,
        stepId: m.step_id,
        step: m.step_index + 1,
        channel: m.channel,
        status: displayStatus(m),
        reason: m.reason,
        summary: (content.subject ?? content.title ?? content.text ?? content.body ?? null) as string | null,
        recipient: m.recipient,
        scheduledFor: m.scheduled_for,
        createdAt: m.created_at,
        sentAt: m.sent_at,
        deliveredAt: m.delivered_at,
        openedAt: m.opened_at,
        clickedAt: m.clicked_at,
        repliedAt: m.replied_at,
        dismissedAt: m.dismissed_at,
        unsubscribedAt: m.unsubscribed_at,
        convertedAt: m.converted_at,
      };
    }),
    conversation: lines.reverse().map((l) => ({ id: String(l.id), messageId: l.message_id === null ? null : String(l.message_id), direction: l.direction, author: l.author, text: l.text, at: l.created_at })),
  };
}
