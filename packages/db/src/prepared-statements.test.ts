import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "./database";
import { prepared } from "./prepared-statements";
import { createTestSchema, type TestDatabase } from "./testing";

// A schema of its own with one table: the migrations are not needed to show how the pool prepares.
let testDb: TestDatabase;
let db: Db;
beforeAll(async () => {
  // One connection, so every call below reuses the statement that connection prepared.
  testDb = await createTestSchema(1);
  db = testDb.db;
  await sql`CREATE TABLE things (id int PRIMARY KEY, name text NOT NULL)`.execute(db);
  await sql`INSERT INTO things VALUES (1, 'one')`.execute(db);
});
afterAll(async () => testDb.destroy());

const readThing = (id: number) => prepared(sql<Record<string, unknown>>`SELECT * FROM things WHERE id = ${id}`, 1);
const preparedCount = async () => Number((await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_prepared_statements WHERE name LIKE 'nurture_%'`.execute(db)).rows[0]!.n);

describe("prepared statements", () => {
  it("are prepared once per connection and then only executed", async () => {
    expect((await readThing(1).execute(db)).rows).toEqual([{ id: 1, name: "one" }]);
    const after = await preparedCount();
    await readThing(1).execute(db);
    await readThing(2).execute(db);
    expect(await preparedCount()).toBe(after);
  });

  it("keep working when a migration adds a column under a running process", async () => {
    await readThing(1).execute(db);
    await sql`ALTER TABLE things ADD COLUMN colour text`.execute(db);
    // Outside a transaction the stale statement is prepared again at once: the caller sees no error.
    expect((await readThing(1).execute(db)).rows).toEqual([{ id: 1, name: "one", colour: null }]);

    await sql`ALTER TABLE things ADD COLUMN size int`.execute(db);
    // Inside one the transaction is already aborted: that attempt fails, and its retry succeeds.
    await expect(db.transaction().execute((trx) => readThing(1).execute(trx))).rejects.toThrow(/cached plan must not change result type/);
    const retried = await db.transaction().execute((trx) => readThing(1).execute(trx));
    expect(retried.rows).toEqual([{ id: 1, name: "one", colour: null, size: null }]);
  });
});
