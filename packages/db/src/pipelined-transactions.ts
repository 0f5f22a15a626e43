import { CompiledQuery, sql, type PostgresPool, type PostgresPoolClient, type QueryExecutorProvider, type RawBuilder } from "kysely";
import type pg from "pg";
import { statementRunner } from "./prepared-statements";

const LAST = "/* nurture:last-in-transaction */";

/**
 * Marks a transaction's last statement: its COMMIT is sent right behind it, and when the statement
 * returns, the transaction has committed (kysely's own COMMIT afterwards costs nothing). Nothing
 * may run in the transaction after it: such a statement is refused.
 */
export function lastInTransaction<T>(query: RawBuilder<T>): RawBuilder<T> {
  return sql<T>`${sql.raw(LAST)} ${query}`;
}

const TOGETHER = "/* nurture:together */";

/** The row type of a statement. */
export type RowOf<Q> = Q extends RawBuilder<infer R> ? R : never;

/**
 * Sends several statements at once and answers with each one's rows. On a pipelined connection
 * they cost one round trip, yet each still runs on its own, in the order given, with a snapshot of
 * its own: a read sent behind a row lock sees whatever the lock waited for. Kysely runs a
 * transaction's statements one at a time, so only this sends them together.
 */
export async function together<const Q extends readonly RawBuilder<unknown>[]>(db: QueryExecutorProvider, queries: Q): Promise<{ -readonly [K in keyof Q]: RowOf<Q[K]>[] }> {
  const compiled = queries.map((q) => q.compile(db));
  const texts = compiled.map((c) => [c.sql, c.parameters.length] as const);
  const result = await db.getExecutor().executeQuery(CompiledQuery.raw(`${TOGETHER}${JSON.stringify(texts)}`, compiled.flatMap((c) => c.parameters)));
  return result.rows as never;
}

/** Sends the statements `together` encoded, in order, without waiting between them; `before` is a lazy BEGIN's reply. */
async function runTogether(before: Promise<unknown> | undefined, run: (text: string, values: readonly unknown[]) => Promise<pg.QueryResult>, text: string, values: readonly unknown[] = []) {
  const texts = JSON.parse(text.slice(TOGETHER.length)) as [string, number][];
  let offset = 0;
  const replies = texts.map(([statement, count]) => run(statement, values.slice(offset, (offset += count))));
  const results = (await settleAll([before, ...replies])).slice(1) as pg.QueryResult[];
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
 * - BEGIN is not waited for on its own: it is answered with the transaction's first statement,
 *   whose caller learns if it failed (BEGIN only fails with its connection, which fails that
 *   statement too);
 * - a statement marked `lastInTransaction` goes out with its COMMIT.
 * Statements marked `prepared` go as named ones. Named statements need a server session of their
 * own: behind PgBouncer in transaction mode, use PgBouncer 1.21+ with `max_prepared_statements` set.
 */
export function pipelinedPool(pool: pg.Pool): PostgresPool {
  const run = statementRunner();
  return {
    async connect() {
      const client = await pool.connect();
      let begun: Promise<unknown> | undefined;
      let committed = false;
      const query = (text: string, values?: readonly unknown[]): Promise<unknown> => {
        if (committed) {
          committed = false;
          if (text === "commit") return done("COMMIT");
          // The COMMIT already ended the transaction; it rolled back if the last statement failed.
          if (text === "rollback") return done("ROLLBACK");
          return Promise.reject(new Error("a statement after the transaction's last one (lastInTransaction) would run outside it"));
        }
        if (text === "begin") {
          begun = client.query(text);
          begun.catch(() => {});
          return done("BEGIN");
        }
        const before = begun;
        begun = undefined;
        if (text.startsWith(TOGETHER)) return runTogether(before, (t, v) => run(client, t, v), text, values);
        if (!text.startsWith(LAST)) return before ? settle(before, run(client, text, values)) : run(client, text, values);
        const result = run(client, text.slice(LAST.length).trimStart(), values);
        const commit = client.query("commit").then((r) => {
          // COMMIT of a transaction that failed earlier answers ROLLBACK instead of an error.
          if (r.command !== "COMMIT") throw new Error("the transaction was rolled back");
        });
        committed = true;
        return settle(before, result, commit);
      };
      return {
        query: query as unknown as PostgresPoolClient["query"],
        release: () => client.release(),
      };
    },
    end: () => pool.end(),
  };
}
