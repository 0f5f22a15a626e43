import { Kysely, PostgresDialect, type Transaction } from "kysely";
import pg from "pg";
import { pipelinedPool } from "./pipelined-transactions";
import type { DB } from "./schema";

// int8 (ids, counts) fits in a JS number for every value this product stores; numeric (revenue) too.
pg.types.setTypeParser(20, (v) => Number(v));
pg.types.setTypeParser(1700, (v) => Number(v));

export type Db = Kysely<DB>;
/** Repositories accept either the pool or an open transaction. */
export type DbOrTrx = Kysely<DB> | Transaction<DB>;

export interface DatabaseOptions {
  connectionString: string;
  /** A PostgreSQL schema to work in (tests use one per file); defaults to the connection's search_path. */
  schema?: string;
  max?: number;
  applicationName?: string;
}

export function createPool(options: DatabaseOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max ?? 10,
    application_name: options.applicationName ?? "nurture",
    // Fail fast when PostgreSQL is down instead of queueing requests forever.
    connectionTimeoutMillis: 5_000,
    // A statement may go out while the one before it is still being answered: transactions save
    // two round trips (see pipelinedPool).
    pipeline: true,
    ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}),
  });
  // A connection lost while PostgreSQL restarts must not crash the process: the query using it
  // rejects (and the caller answers 503), so the emitted 'error' events carry nothing more.
  pool.on("error", () => {});
  pool.on("connect", (client) => client.on("error", () => {}));
  return pool;
}

export function createDb(options: DatabaseOptions): Db {
  return new Kysely<DB>({ dialect: new PostgresDialect({ pool: pipelinedPool(createPool(options)) }) });
}
