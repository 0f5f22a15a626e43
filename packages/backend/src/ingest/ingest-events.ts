import { planIdentities, type IdentityPlan } from "@nurture/core";
import type { DB, Db } from "@nurture/db";
import type { Transaction } from "kysely";
import { lockCards, lockIdentities, loadSnapshot } from "./identities";
import type { IncomingEvent } from "./incoming-event";
import { mergeUsers } from "./merge-users";
import { applyProfileChanges } from "./profile-changes";
import { storeEvents, type StoredEvents } from "./store-events";

export interface IngestResult {
  /** Events stored now; the rest were already stored (same messageId). */
  stored: number;
  duplicates: number;
  /** Internal ids of the cards that received events, for the downstream pipeline. */
  userIds: number[];
}

/**
 * Stores a batch in one transaction: resolves identities, inserts events idempotently by
 * (project, messageId), updates per-event statistics and the cards' properties. When it returns,
 * everything is committed; nothing of a failed batch is applied.
 */
export async function ingestEvents(db: Db, projectId: string, events: readonly IncomingEvent[]): Promise<IngestResult> {
  return (await ingestTogether(db, projectId, [events]))[0]!;
}

/**
 * Stores several batches of one project in one transaction (one commit), each with the outcome it
 * would have had if they had been stored one after the other in this order. It is all or nothing
 * for the lot: when it throws, nothing of any of them is stored.
 */
export async function ingestTogether(db: Db, projectId: string, batches: readonly (readonly IncomingEvent[])[]): Promise<IngestResult[]> {
  const events = batches.flat();
  if (events.length === 0) return batches.map(() => ({ stored: 0, duplicates: 0, userIds: [] }));
  let stored: StoredEvents;
  try {
    stored = await storeBatch(db, projectId, events, false);
  } catch (err) {
    // A card this batch pointed at was merged away concurrently (23503), or a merge's row locks
    // crossed ours (40P01): redo it under the identity locks.
    const code = (err as { code?: string }).code;
    if (code !== "23503" && code !== "40P01") throw err;
    stored = await storeBatch(db, projectId, events, true);
  }
  let end = 0;
  return batches.map((batch) => {
    const start = end;
    end += batch.length;
    let count = 0;
    for (let i = start; i < end; i++) if (stored.inserted.has(i)) count++;
    return { stored: count, duplicates: batch.length - count, userIds: [...new Set(stored.userIdPerEvent.slice(start, end))] };
  });
}

/**
 * Returning visitors (the common case) need no identity change, so their batches skip the identity
 * locks, and a batch for one card with no property changes is a single statement that needs no
 * transaction around it. A batch that creates, links, renames or merges cards takes the locks and
 * plans again on what it then sees. A merge locks the folded card's row before moving its events,
 * so an unlocked batch either lands before it (and is moved along) or fails its foreign key and is
 * redone locked.
 */
async function storeBatch(db: Db, projectId: string, events: readonly IncomingEvent[], locked: boolean): Promise<StoredEvents> {
  if (!locked) {
    const plan = planIdentities(events, await loadSnapshot(db, projectId, events));
    if (plan.created.length + plan.renamed.length + plan.merges.length + plan.links.length === 0) {
      if (isOneStatement(plan, events)) return storeEvents(db, projectId, plan, events);
      return db.transaction().execute((trx) => storePlanned(trx, projectId, plan, events));
    }
  }
  return db.transaction().execute(async (trx) => {
    await lockIdentities(trx, projectId, events);
    return storePlanned(trx, projectId, planIdentities(events, await loadSnapshot(trx, projectId, events)), events);
  });
}

/** Events for one existing card, changing no properties: storing them is one statement. */
function isOneStatement(plan: IdentityPlan, events: readonly IncomingEvent[]): boolean {
  const first = plan.messageCards[0]!;
  return (
    "existing" in first &&
    plan.messageCards.every((c) => "existing" in c && c.existing === first.existing) &&
    events.every((e) => e.traits === undefined && e.ops === undefined)
  );
}

async function storePlanned(trx: Transaction<DB>, projectId: string, plan: IdentityPlan, events: readonly IncomingEvent[]): Promise<StoredEvents> {
  await lockCards(
    trx,
    [...new Set(plan.messageCards.flatMap((c) => ("existing" in c ? [c.existing] : [])))].sort((a, b) => a - b),
  );
  // Renames first: a batch may move a user id off one card (alias) and then create a card for it.
  for (const r of plan.renamed) {
    await trx.updateTable("users").set({ user_id: r.userId, updated_at: new Date() }).where("id", "=", r.id).execute();
  }
  for (const m of plan.merges) await mergeUsers(trx, projectId, m.from, m.into);
  const stored = await storeEvents(trx, projectId, plan, events);
  await applyProfileChanges(trx, events, stored.userIdPerEvent, stored.inserted);
  return stored;
}
