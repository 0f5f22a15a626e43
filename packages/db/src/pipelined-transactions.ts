import { CompiledQuery, type Compilable, type PostgresPool, type PostgresPoolClient, type QueryExecutorProvider, type RawBuilder } from "kysely";
import type pg from "pg";
import { statementRunner } from "./prepared-statements";

const LAST = "/* nurture:last-in-transaction */";
const TOGETHER = "/* nurture:together */";

/** A statement for `together`: raw SQL or a query builder. */
export type Statement<R = unknown> = RawBuilder<R> | Compilable<R>;

/** The row type of a statement. */
export type RowOf<Q> = Q extends RawBuilder<infer R> ? R : Q extends Compilable<infer R> ? R : never;

/**
 * Sends several statements at once and answers with each one's rows. On a pipelined connection
 * they cost one round trip, yet each still runs on its own, in the order given, with a snapshot of
 * its own: a read sent behind a row lock sees whatever the lock waited for. Kysely runs a
 * transaction's statements one at a time, so only this sends them together.
 * With `last`, they are the transaction's last statements: its COMMIT is sent right behind them,
 * and when they return the transaction has committed (kysely's own COMMIT afterwards costs
 * nothing). Nothing may run in the transaction after them: such a statement is refused.
 */
export async function together<const Q extends readonly Statement[]>(db: QueryExecutorProvider, queries: Q, options: { last?: boolean } = {}): Promise<{ -readonly [K in keyof Q]: RowOf<Q[K]>[] }> {
  // A query builder's compile takes no argument; raw SQL's needs the executor.
  const group = queries.map((q) => (q as RawBuilder<unknown>).compile(db));
  // The group reaches the pool by a key in the text kysely passes on, not inside it: no encoding.
  const key = String(++lastGroup);
  groups.set(key, group);
  try {
    const result = await db.getExecutor().executeQuery(CompiledQuery.raw(`${options.last ? LAST : ""}${TOGETHER}${key}`, []));
    return result.rows as never;
  } finally {
    groups.delete(key);
  }
}

const groups = new Map<string, readonly CompiledQuery[]>();
let lastGroup = 0;

/** Sends the statements of a `together` group, in order, without waiting between them. */
async function runTogether(run: (text: string, values: readonly unknown[]) => Promise<pg.QueryResult>, text: string) {
  const group = groups.get(text.slice(TOGETHER.length));
  if (!group) throw new Error("statements sent together must go through together()");
  const results = (await settleAll(group.map((c) => run(c.sql, c.parameters)))) as pg.QueryResult[];
  return { command: "SELECT", rowCount: null, rows: results.map((r) => r.rows) };
}

const done = (command: string) => Promise.resolve({ command, rowCount: null, rows: [] });

/**
 * Waits for every reply of a group sent together, in the order sent, then fails with the first
 * failure (the cause of any after it), else gives every result.
 */
async function settleAll(replies: readonly (Promise<unknown> | undefined)[]): Promise<unknown[]> {
  const all = await Promise.allSettled(replies);
  const failed = all.find((r) => r.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
  return all.map((r) => (r as PromiseFulfilledResult<unknown>).value);
}

/** `settleAll`, answering with `main`'s result. */
const settle = <T>(before: Promise<unknown> | undefined, main: Promise<T>, after?: Promise<unknown>): Promise<T> => settleAll([before, main, after]).then(() => main);

/**
 * The pool kysely runs on. Connections are in pg's pipeline mode (see createPool), so a statement
 * can go out while the one before it is still being answered, which saves a transaction two round
 * trips (without pipeline mode pg queues them in the same order, so this stays correct):
 * - BEGIN is not sent on its own: it goes out with the transaction's first statement and is
 *   answered with it, and that statement's caller learns if it failed (BEGIN only fails with its
 *   connection, which fails that statement too); a transaction that runs nothing sends nothing;
 * - statements sent `together` as the last go out with the COMMIT.
 * Statements that go out together are written to the socket at once: pg writes each statement
 * on its own, and under load those writes were a fifth of a busy process's time.
 * Statements marked `prepared` go as named ones. Named statements need a server session of their
 * own: behind PgBouncer in transaction mode, use PgBouncer 1.21+ with `max_prepared_statements` set.
 */
export function pipelinedPool(pool: pg.Pool): PostgresPool {
  const run = statementRunner();
  return {
    async connect() {
      const client = await pool.connect();
      const stream = (client as unknown as { connection?: { stream?: { cork?(): void; uncork?(): void } } }).connection?.stream;
      // pg sends a statement synchronously from client.query: corked, a group leaves in one write.
      const inOneWrite = <T>(send: () => T): T => {
        stream?.cork?.();
        try {
          return send();
        } finally {
          stream?.uncork?.();
        }
      };
      let beginPending = false;
      let committed = false;
      const query = (text: string, values?: readonly unknown[]): Promise<unknown> => {
        if (committed) {
          committed = false;
          if (text === "commit") return done("COMMIT");
          // The COMMIT already ended the transaction; it rolled back if the last statement failed.
          if (text === "rollback") return done("ROLLBACK");
          return Promise.reject(new Error("a statement after the transaction's last one (together, last) would run outside it"));
        }
        if (text === "begin") {
          beginPending = true;
          return done("BEGIN");
        }
        if (beginPending && (text === "commit" || text === "rollback")) {
          beginPending = false;
          return done(text.toUpperCase());
        }
        const last = text.startsWith(LAST);
        const body = last ? text.slice(LAST.length) : text;
        return inOneWrite(() => {
          const before = beginPending ? client.query("begin") : undefined;
          beginPending = false;
          const main: Promise<unknown> = body.startsWith(TOGETHER) ? runTogether((t, v) => run(client, t, v), body) : run(client, body, values);
          if (!last) return before ? settle(before, main) : main;
          const commit = client.query("commit").then((r) => {
            // COMMIT of a transaction that failed earlier answers ROLLBACK instead of an error.
            if (r.command !== "COMMIT") throw new Error("the transaction was rolled back");
          });
          committed = true;
          return settle(before, main, commit);
        });
      };
      return {
        query: query as unknown as PostgresPoolClient["query"],
        release: () => client.release(),
      };
    },
    end: () => pool.end(),
  };
}
