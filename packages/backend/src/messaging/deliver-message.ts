import { sql } from "kysely";
import { markFailed, markRetrying, markSent } from "./delivery-completion";
import type { NextDelivery } from "./delivery-outcome";
import { lockMessage, prepareSend, type Claim, type DeliveryDeps, type Preparation } from "./delivery-preparation";

/** What to do when handing a message over failed. */
export type FailurePlan =
  /** Temporary: keep it queued and try again at `at`. */
  | { retryAt: Date; reason: string }
  /** For good: record it failed (suppressing a hard-bounced address) and go on with the series. */
  | { fail: string; suppressAddress?: string };

export interface Transport {
  /** Hands the message over (SMTP, webhook POST; nothing for the inbox). Returns a detail for the log. */
  transmit(claim: Claim): Promise<string>;
  plan(err: unknown, claim: Claim): FailurePlan;
}

export type Delivery =
  | Exclude<Preparation, { kind: "send" }>
  | { kind: "sent"; claim: Claim; detail: string; next: NextDelivery | null }
  | { kind: "retrying"; reason: string; error: unknown }
  | { kind: "failed"; reason: string; error: unknown; next: NextDelivery | null };

/**
 * Delivers one ledger message in one transaction that holds the message's row (and the user's send
 * lock) from the last checks until the outcome is recorded. A duplicate job or a second worker waits
 * for the row and then finds the message sent; a worker that dies mid-send loses its connection,
 * PostgreSQL rolls back, and the message is simply still queued for the next attempt. The sent
 * record is written before the hand-over and committed right after it, leaving only the COMMIT
 * between the server's acceptance and the record (a crash exactly there resends, with the same
 * Message-ID).
 */
export async function deliverMessage(deps: DeliveryDeps, projectId: string, messageId: number, transport: Transport): Promise<Delivery> {
  return deps.db.transaction().execute(async (trx): Promise<Delivery> => {
    const message = await lockMessage(trx, projectId, messageId);
    if (!message) return { kind: "done", reason: "message not found" };
    const now = deps.now();
    const prepared = await prepareSend(trx, deps, message, now);
    if (prepared.kind !== "send") return prepared;
    const claim = prepared.claim;

    await sql`SAVEPOINT before_send`.execute(trx);
    const next = await markSent(trx, claim, now);
    let detail: string;
    try {
      detail = await transport.transmit(claim);
    } catch (error) {
      await sql`ROLLBACK TO SAVEPOINT before_send`.execute(trx);
      const plan = transport.plan(error, claim);
      if ("retryAt" in plan) {
        await markRetrying(trx, claim, plan.reason, plan.retryAt, deps.now());
        return { kind: "retrying", reason: plan.reason, error };
      }
      const after = await markFailed(trx, claim, plan.fail, deps.now(), plan.suppressAddress ? { suppressAddress: plan.suppressAddress } : {});
      return { kind: "failed", reason: plan.fail, error, next: after };
    }
    return { kind: "sent", claim, detail, next };
  });
}
