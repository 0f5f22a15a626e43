import { sql } from "kysely";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Db } from "./database";
import { lastInTransaction } from "./pipelined-transactions";
import { createTestSchema, type TestDatabase } from "./testing";

let testDb: TestDatabase;
let db: Db;
beforeAll(async () => {
  testDb = await createTestSchema(2);
  db = testDb.db;
  await sql`CREATE TABLE things (id int PRIMARY KEY)`.execute(db);
});
beforeEach(async () => {
  await sql`TRUNCATE things`.execute(db);
});
afterAll(async () => testDb.destroy());

const insert = (id: number) => sql`INSERT INTO things VALUES (${id})`;
const ids = async () => (await sql<{ id: number }>`SELECT id FROM things ORDER BY id`.execute(db)).rows.map((r) => r.id);

describe("transactions on the pipelined pool", () => {
  it("hold together although their BEGIN is not waited for", async () => {
    // The statements of one transaction share its start time, and its writes vanish with a rollback.
    const times = await db.transaction().execute(async (trx) => {
      const a = (await sql<{ t: Date }>`SELECT now() AS t`.execute(trx)).rows[0]!.t;
      await sql`SELECT pg_sleep(0.01)`.execute(trx);
      return [a, (await sql<{ t: Date }>`SELECT now() AS t`.execute(trx)).rows[0]!.t];
    });
    expect(times[0]).toEqual(times[1]);
    await expect(
      db.transaction().execute(async (trx) => {
        await insert(1).execute(trx);
        throw new Error("changed my mind");
      }),
    ).rejects.toThrow("changed my mind");
    expect(await ids()).toEqual([]);
  });

  it("commit with the statement marked last", async () => {
    await db.transaction().execute(async (trx) => {
      await insert(1).execute(trx);
      await lastInTransaction(insert(2)).execute(trx);
    });
    expect(await ids()).toEqual([1, 2]);
  });

  it("roll back whole when the last statement fails, with its error", async () => {
    await expect(
      db.transaction().execute(async (trx) => {
        await insert(1).execute(trx);
        await lastInTransaction(insert(1)).execute(trx);
      }),
    ).rejects.toThrow(/duplicate key/);
    expect(await ids()).toEqual([]);
    // The connection is clean for the next transaction.
    await db.transaction().execute(async (trx) => lastInTransaction(insert(3)).execute(trx));
    expect(await ids()).toEqual([3]);
  });

  it("refuse a statement after the last one instead of running it outside the transaction", async () => {
    await expect(
      db.transaction().execute(async (trx) => {
        await lastInTransaction(insert(1)).execute(trx);
        await insert(2).execute(trx);
      }),
    ).rejects.toThrow(/after the transaction's last one/);
    expect(await ids()).toEqual([1]);
  });
});
