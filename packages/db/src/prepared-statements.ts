import { createHash } from "node:crypto";
import { sql, type PostgresPool, type PostgresPoolClient, type RawBuilder } from "kysely";
import type pg from "pg";

const MARK = "/* nurture:prepared */";

/**
 * Statements over arrays are prepared only up to this many elements: after five runs PostgreSQL
 * may keep one generic plan, which guesses ten elements per array, and a plan fitted to ten rows
 * must not be used for a batch of two thousand (a large batch's planning is a small part of its cost).
 */
const PREPARED_MAX_ROWS = 50;

/**
 * Marks a statement run for every tracking request to be prepared once per connection and then
 * only bound and executed: PostgreSQL stops parsing and analysing its text each time (a good part
 * of its work for a single event), and the text (kilobytes for a CTE) stops crossing the socket.
 * Only for statements whose text takes a few shapes, since each shape stays prepared for the life
 * of the connection. `rows` is the most elements any of its arrays holds; above PREPARED_MAX_ROWS
 * the statement is returned unmarked and planned for its values as usual.
 */
export function prepared<T>(query: RawBuilder<T>, rows: number): RawBuilder<T> {
  return rows > PREPARED_MAX_ROWS ? query : sql<T>`${sql.raw(MARK)} ${query}`;
}

/**
 * The pool kysely runs on: marked statements go as named (prepared) ones. Named statements need a
 * server session of their own: behind PgBouncer in transaction mode, use PgBouncer 1.21+ with
 * `max_prepared_statements` set.
 */
export function preparingPool(pool: pg.Pool): PostgresPool {
  const names = new Map<string, string>();
  const nameOf = (text: string) => {
    let name = names.get(text);
    if (!name) names.set(text, (name = `nurture_${createHash("sha1").update(text).digest("hex").slice(0, 20)}`));
    return name;
  };
  return {
    async connect() {
      const client = await pool.connect();
      return {
        query: ((query: unknown, parameters?: readonly unknown[]) =>
          typeof query === "string" && query.startsWith(MARK)
            ? client.query({ name: nameOf(query), text: query, values: parameters as unknown[] })
            : client.query(query as string, parameters as unknown[])) as unknown as PostgresPoolClient["query"],
        release: () => client.release(),
      };
    },
    end: () => pool.end(),
  };
}
