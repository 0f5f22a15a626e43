/**
 * Identity resolution for one batch, as a pure plan: which cards to create, which anonymous ids to
 * link, which anonymous cards become known, and which merge. The backend loads the snapshot, locks
 * the identities, and executes the plan in one transaction.
 *
 * Rules: an anonymous card joins a known one when a message carries both ids; a known user is never
 * merged into another known user (the message goes to the user it names, ids stay where they were).
 */

export interface IdentityMessage {
  type: string;
  userId?: string;
  anonymousId?: string;
  previousId?: string;
}

export interface SnapshotUser {
  id: number;
  userId: string | null;
}

export interface IdentitySnapshot {
  byUserId: Map<string, SnapshotUser>;
  byAnonymousId: Map<string, SnapshotUser>;
}

/** A card: an existing row by id, or the n-th card this plan creates. */
export type CardRef = { existing: number } | { created: number };

export interface IdentityPlan {
  created: { userId: string | null }[];
  /** Existing anonymous cards that get a user id (identify), or known cards renamed by alias. */
  renamed: { id: number; userId: string }[];
  /** anonymous id → card it now belongs to (insert or re-point). */
  links: { anonymousId: string; card: CardRef }[];
  /** Existing anonymous card `from` is folded into existing card `into`. */
  merges: { from: number; into: number }[];
  /** Per message, in input order: the card it belongs to. */
  messageCards: CardRef[];
}

const key = (ref: CardRef) => ("existing" in ref ? `e${ref.existing}` : `c${ref.created}`);

export function planIdentities(messages: readonly IdentityMessage[], snapshot: IdentitySnapshot): IdentityPlan {
  const byUser = new Map<string, CardRef>();
  const byAnon = new Map<string, CardRef>();
  const userIdOf = new Map<string, string | null>();
  for (const [uid, u] of snapshot.byUserId) {
    byUser.set(uid, { existing: u.id });
    userIdOf.set(`e${u.id}`, u.userId);
  }
  for (const [aid, u] of snapshot.byAnonymousId) {
    byAnon.set(aid, { existing: u.id });
    userIdOf.set(`e${u.id}`, u.userId);
  }

  const plan: IdentityPlan = { created: [], renamed: [], links: [], merges: [], messageCards: [] };
  const mergedInto = new Map<number, number>();
  const resolve = (ref: CardRef): CardRef => {
    if (!("existing" in ref)) return ref;
    let id = ref.existing;
    while (mergedInto.has(id)) id = mergedInto.get(id)!;
    return { existing: id };
  };
  const create = (userId: string | null): CardRef => {
    const ref = { created: plan.created.length };
    plan.created.push({ userId });
    userIdOf.set(key(ref), userId);
    if (userId !== null) byUser.set(userId, ref);
    return ref;
  };
  const link = (anonymousId: string, card: CardRef) => {
    byAnon.set(anonymousId, card);
    plan.links.push({ anonymousId, card });
  };
  const giveUserId = (card: CardRef, userId: string) => {
    if ("existing" in card) plan.renamed.push({ id: card.existing, userId });
    else plan.created[card.created] = { userId };
    userIdOf.set(key(card), userId);
    byUser.set(userId, card);
  };

  for (const m of messages) {
    const userId = m.userId;
    let anonymousId = m.anonymousId;
    if (m.type === "alias" && m.previousId && userId) {
      const previousKnown = byUser.get(m.previousId);
      if (previousKnown && !byAnon.has(m.previousId)) {
        // alias(previousId = an old user id): the known user is renamed, unless the new id is taken.
        const prev = resolve(previousKnown);
        if (!byUser.has(userId)) {
          byUser.delete(m.previousId);
          giveUserId(prev, userId);
        }
        plan.messageCards.push(resolve(byUser.get(userId)!));
        continue;
      }
      anonymousId = m.previousId;
    }

    const u = userId !== undefined ? byUser.get(userId) : undefined;
    const a = anonymousId !== undefined ? byAnon.get(anonymousId) : undefined;
    const uRef = u && resolve(u);
    const aRef = a && resolve(a);
    let card: CardRef;

    if (userId !== undefined && anonymousId !== undefined) {
      if (uRef && aRef) {
        card = uRef;
        const aUserId = userIdOf.get(key(aRef));
        if (key(uRef) !== key(aRef) && aUserId === null && "existing" in aRef && "existing" in uRef) {
          plan.merges.push({ from: aRef.existing, into: uRef.existing });
          mergedInto.set(aRef.existing, uRef.existing);
          byAnon.set(anonymousId, uRef);
        } else if (key(uRef) !== key(aRef) && aUserId === null) {
          // One side was created in this very batch: point the anonymous id at the known card.
          link(anonymousId, uRef);
        }
      } else if (uRef) {
        card = uRef;
        link(anonymousId, uRef);
      } else if (aRef && userIdOf.get(key(aRef)) === null) {
        card = aRef;
        giveUserId(aRef, userId);
      } else {
        card = create(userId);
        if (!aRef) link(anonymousId, card);
      }
    } else if (userId !== undefined) {
      card = uRef ?? create(userId);
    } else if (anonymousId !== undefined) {
      if (aRef) card = aRef;
      else {
        card = create(null);
        link(anonymousId, card);
      }
    } else {
      throw new Error("a message needs a userId or an anonymousId");
    }
    plan.messageCards.push(card);
  }

  // Merges decided late can redirect cards chosen earlier in the batch.
  plan.messageCards = plan.messageCards.map(resolve);
  plan.links = plan.links.map((l) => ({ ...l, card: resolve(l.card) }));
  return plan;
}
