import { planIdentities, type IdentityPlan, type IdentitySnapshot } from "@nurture/core";
import type { DB, Db } from "@nurture/db";
import type { Transaction } from "kysely";
import { lockCards, lockIdentities, loadSnapshot } from "./identities";
import type { IncomingEvent } from "./incoming-event";
import { mergeUsers } from "./merge-users";
import { applyProfileChanges } from "./profile-changes";
import { existingCardIds, storeEvents, type StoredEvents } from "./store-events";

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
  const stored = await storeRetryingRaces(db, projectId, events);
  let end = 0;
  return batches.map((batch) => {
    const start = end;
    end += batch.length;
    let count = 0;
    for (let i = start; i < end; i++) if (stored.inserted.has(i)) count++;
    return { stored: count, duplicates: batch.length - count, userIds: [...new Set(stored.userIdPerEvent.slice(start, end))] };
  });
}

/** One unlocked attempt, then locked ones: each sees what the concurrent batches it lost to committed. */
const MAX_ATTEMPTS = 3;

async function storeRetryingRaces(db: Db, projectId: string, events: readonly IncomingEvent[]): Promise<StoredEvents> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await storeBatch(db, projectId, events, attempt > 1);
    } catch (err) {
      if (attempt >= MAX_ATTEMPTS || !isIdentityRace(err)) throw err;
    }
  }
}

/**
 * The batch lost a race for an identity and is planned again under the identity locks: a visitor
 * it was creating was created concurrently (40001 from nurture_identity_race, or a unique user id),
 * a card it pointed at was merged away (23503), or a merge's row locks crossed ours (40P01).
 */
function isIdentityRace(err: unknown): boolean {
  const { code, constraint } = err as { code?: string; constraint?: string };
  return code === "40001" || code === "23503" || code === "40P01" || (code === "23505" && constraint === "users_project_user_id");
}

/**
 * Most batches change no identity but create cards for visitors nobody has seen yet, if any: they
 * skip the identity locks (storeEvents notices a concurrent creation of the same visitor), and a
 * batch with no property changes is a single statement that needs no transaction around it. A
 * batch that renames or merges cards or moves a known anonymous id takes the locks and plans
 * again on what it then sees. A merge locks the folded card's row before
 * moving its events, so an unlocked batch either lands before it (and is moved along) or fails its
 * foreign key and is redone locked.
 */
async function storeBatch(db: Db, projectId: string, events: readonly IncomingEvent[], locked: boolean): Promise<StoredEvents> {
  if (!locked) {
    const snapshot = await loadSnapshot(db, projectId, events);
    const plan = planIdentities(events, snapshot);
    const movesIdentities = plan.renamed.length + plan.merges.length > 0 || plan.links.some((l) => snapshot.byAnonymousId.has(l.anonymousId));
    if (!movesIdentities) {
      if (isOneStatement(events)) return storeEvents(db, projectId, plan, snapshot, events);
      return db.transaction().execute((trx) => storePlanned(trx, projectId, plan, snapshot, events));
    }
  }
  return db.transaction().execute(async (trx) => {
    await lockIdentities(trx, projectId, events);
    const snapshot = await loadSnapshot(trx, projectId, events);
    return storePlanned(trx, projectId, planIdentities(events, snapshot), snapshot, events);
  });
}

/** Events changing no properties: storing them is one statement (which orders its own row locks). */
function isOneStatement(events: readonly IncomingEvent[]): boolean {
  return events.every((e) => e.traits === undefined && e.ops === undefined);
}

async function storePlanned(
  trx: Transaction<DB>,
  projectId: string,
  plan: IdentityPlan,
  snapshot: IdentitySnapshot,
  events: readonly IncomingEvent[],
): Promise<StoredEvents> {
  await lockCards(trx, existingCardIds(plan));
  // Renames first: a batch may move a user id off one card (alias) and then create a card for it.
  for (const r of plan.renamed) {
    await trx.updateTable("users").set({ user_id: r.userId, updated_at: new Date() }).where("id", "=", r.id).execute();
  }
  for (const m of plan.merges) await mergeUsers(trx, projectId, m.from, m.into);
  const stored = await storeEvents(trx, projectId, plan, snapshot, events);
  await applyProfileChanges(trx, events, stored.userIdPerEvent, stored.inserted);
  return stored;
}
