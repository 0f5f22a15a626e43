import type { Db } from "@nurture/db";
import { sql } from "kysely";

/**
 * Records, committed at once, that an email is about to be handed over for good (its final "."
 * written). Called on a pool of its own, never on the connection of the sender's transaction,
 * which holds the message row until the outcome is recorded (see migrations/052).
 */
export async function recordHandover(db: Db, messageId: number): Promise<void> {
  await db.insertInto("message_handovers").values({ message_id: messageId }).onConflict((oc) => oc.column("message_id").doUpdateSet({ handed_over_at: sql`now()` })).execute();
}

/** Hand-overs of messages whose outcome is on record are of no more use. */
export async function purgeHandovers(db: Db, olderThan: Date): Promise<number> {
  const result = await sql`
    DELETE FROM message_handovers h
    WHERE h.handed_over_at < ${olderThan}
      AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.id = h.message_id AND m.status IN ('queued', 'sending'))
  `.execute(db);
  return Number(result.numAffectedRows ?? 0);
}
