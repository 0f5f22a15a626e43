import { createHash } from "node:crypto";
import { sql, type Expression, type RawBuilder } from "kysely";
import type pg from "pg";

const MARK = "/* nurture:prepared */";

/**
 * Statements over arrays are prepared only up to this many elements: after five runs PostgreSQL
 * may keep one generic plan, which guesses ten elements per array, and a plan fitted to ten rows
 * must not be used for a batch of two thousand (a large batch's planning is a small part of its cost).
 */
const PREPARED_MAX_ROWS = 50;

/**
 * Marks a hot statement (run for every tracking request, pipeline run or widget poll) to be
 * prepared once per connection and then only bound and executed: PostgreSQL stops parsing and
 * planning its text each time (about half of a pipeline statement's time), and the text
 * (kilobytes for a CTE) stops crossing the socket.
 * Only for statements whose text takes a few shapes, since each shape stays prepared for the life
 * of the connection. `rows` is the most elements any of its arrays holds; above PREPARED_MAX_ROWS
 * the statement is returned unmarked and planned for its values as usual. A query builder (a
 * select with its row type) may be given as well as raw SQL.
 */
export function prepared<T>(query: RawBuilder<T> | Expression<T>, rows: number): RawBuilder<T> {
  return rows > PREPARED_MAX_ROWS ? sql<T>`${query}` : sql<T>`${sql.raw(MARK)} ${query}`;
}

/** PostgreSQL refuses to run a prepared statement whose result columns a schema change altered. */
const isStaleResultType = (err: unknown) =>
  (err as { code?: string }).code === "0A000" && /cached plan must not change result type/.test((err as Error).message);

/** Runs a statement on a client: marked ones as named (prepared) statements, the rest as given. */
export type StatementRunner = (client: pg.PoolClient, text: string, values?: readonly unknown[]) => Promise<pg.QueryResult>;

/**
 * One per pool: names statements by their text. A migration that changes a table's columns under
 * a running process (a rolling deploy) makes the prepared statements that read `*` from it fail
 * once on each connection; the statement is then prepared again under a new name, at once when no
 * transaction was open (pg's `_txStatus` says so), else on its next use, when the caller's retry
 * runs it.
 */
export function statementRunner(): StatementRunner {
  const names = new Map<string, string>();
  let generation = 0;
  const nameOf = (text: string) => {
    let name = names.get(text);
    if (!name) names.set(text, (name = `nurture_${createHash("sha1").update(`${generation}:${text}`).digest("hex").slice(0, 20)}`));
    return name;
  };
  return async (client, text, values) => {
    if (!text.startsWith(MARK)) return client.query(text, values as unknown[]);
    try {
      return await client.query({ name: nameOf(text), text, values: values as unknown[] });
    } catch (err) {
      if (!isStaleResultType(err)) throw err;
      generation += 1;
      names.clear();
      if ((client as unknown as { _txStatus?: string })._txStatus !== "I") throw err;
      return client.query({ name: nameOf(text), text, values: values as unknown[] });
    }
  };
}
