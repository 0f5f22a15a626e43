import type { DB, DbOrTrx } from "@nurture/db";
import type { Transaction } from "kysely";

/** Runs `fn` in the caller's transaction, or in a new one when given the pool. */
export function inTransaction<T>(db: DbOrTrx, fn: (trx: Transaction<DB>) => Promise<T>): Promise<T> {
  return db.isTransaction ? fn(db as Transaction<DB>) : db.transaction().execute(fn);
}
