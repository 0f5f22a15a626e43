import { randomBytes } from "node:crypto";
import { sql } from "kysely";
import { createDb, type Db } from "./database";
import { migrate } from "./migrator";

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

export interface TestDatabase {
  db: Db;
  schema: string;
  connectionString: string;
  /** Drops the schema and closes the pool. */
  destroy(): Promise<void>;
}

/**
 * A freshly migrated PostgreSQL schema of its own, so test files never see each other's rows.
 * The name carries its creation time, so a crashed run's leftovers can be recognised and dropped.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const testDb = await createTestSchema();
  await migrate(testDb.db);
  return testDb;
}

/** An empty schema of its own (no migrations), for tests of the database layer itself; `max` connections. */
export async function createTestSchema(max = 8): Promise<TestDatabase> {
  const schema = `t_${Math.floor(Date.now() / 1000)}_${randomBytes(4).toString("hex")}`;
  const admin = createDb({ connectionString: TEST_DATABASE_URL, max: 1 });
  await sql`CREATE SCHEMA ${sql.id(schema)}`.execute(admin);
  await admin.destroy();
  const db = createDb({ connectionString: TEST_DATABASE_URL, schema, max });
  return {
    db,
    schema,
    connectionString: TEST_DATABASE_URL,
    async destroy() {
      await db.destroy();
      const cleanup = createDb({ connectionString: TEST_DATABASE_URL, max: 1 });
      await sql`DROP SCHEMA IF EXISTS ${sql.id(schema)} CASCADE`.execute(cleanup);
      await cleanup.destroy();
    },
  };
}

/** Drops test schemas left behind by runs that crashed more than `olderThanSeconds` ago. */
export async function dropStaleTestSchemas(olderThanSeconds = 3600): Promise<void> {
  const admin = createDb({ connectionString: TEST_DATABASE_URL, max: 1 });
  const cutoff = Math.floor(Date.now() / 1000) - olderThanSeconds;
  const rows = await sql<{ nspname: string }>`SELECT nspname FROM pg_namespace WHERE nspname ~ '^t_[0-9]+_'`.execute(admin);
  for (const { nspname } of rows.rows) {
    if (Number(nspname.split("_")[1]) < cutoff) await sql`DROP SCHEMA IF EXISTS ${sql.id(nspname)} CASCADE`.execute(admin);
  }
  await admin.destroy();
}
