import type { DB } from "@nurture/db";
import { sql, type Transaction } from "kysely";

/**
 * The per-user send lock: held (transaction-scoped) by whoever sends a message to the user — from
 * the last checks until the send is recorded — and by whoever changes whether the user may be
 * written to (unsubscribe). So caps count every message before them exactly, and an unsubscribe
 * waits for a send already under way and is seen by every send after it.
 *
 * Lock order: the user's row and message rows before this lock, never the other way round; whoever
 * holds it takes no row lock of that user afterwards.
 */
export async function lockUserSends(trx: Transaction<DB>, userId: number): Promise<void> {
  await sql`SELECT pg_advisory_xact_lock(hashtextextended(${`nurture-send:${userId}`}, 0))`.execute(trx);
}
