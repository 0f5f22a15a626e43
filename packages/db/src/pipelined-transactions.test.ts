import { sql } from "kysely";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Db } from "./database";
import { together } from "./pipelined-transactions";
import { prepared } from "./prepared-statements";
import { createTestSchema, type TestDatabase } from "./testing";

let testDb: TestDatabase;
let db: Db;
beforeAll(async () => {
  testDb = await createTestSchema(2);
  db = testDb.db;
  await sql`CREATE TABLE things (id int PRIMARY KEY, n int NOT NULL DEFAULT 0)`.execute(db);
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
      await together(trx, [insert(2)], { last: true });
    });
    expect(await ids()).toEqual([1, 2]);
  });

  it("roll back whole when the last statement fails, with its error", async () => {
    await expect(
      db.transaction().execute(async (trx) => {
        await insert(1).execute(trx);
        await together(trx, [insert(1)], { last: true });
      }),
    ).rejects.toThrow(/duplicate key/);
    expect(await ids()).toEqual([]);
    // The connection is clean for the next transaction.
    await db.transaction().execute(async (trx) => together(trx, [insert(3)], { last: true }));
    expect(await ids()).toEqual([3]);
  });

  it("refuse a statement after the last one instead of running it outside the transaction", async () => {
    await expect(
      db.transaction().execute(async (trx) => {
        await together(trx, [insert(1)], { last: true });
        await insert(2).execute(trx);
      }),
    ).rejects.toThrow(/after the transaction's last one/);
    expect(await ids()).toEqual([1]);
  });
});

describe("statements sent together", () => {
  it("run in order, each seeing the ones before it, and answer with each one's rows", async () => {
    const [inserted, counted, read] = await db.transaction().execute((trx) =>
      together(trx, [
        sql<{ id: number }>`INSERT INTO things (id) VALUES (1), (2) RETURNING id`,
        sql<{ n: number }>`SELECT count(*)::int AS n FROM things`,
        prepared(sql<{ id: number }>`SELECT id FROM things WHERE id = ${2}`, 1),
      ]),
    );
    expect(inserted).toEqual([{ id: 1 }, { id: 2 }]);
    expect(counted).toEqual([{ n: 2 }]);
    expect(read).toEqual([{ id: 2 }]);
  });

  it("give a read sent behind a row lock what the lock waited for", async () => {
    await insert(1).execute(db);
    let release!: () => void;
    const holding = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    const writer = db.transaction().execute(async (trx) => {
      await sql`UPDATE things SET n = 5 WHERE id = 1`.execute(trx);
      locked();
      await holding;
    });
    await isLocked;
    const reader = db.transaction().execute((trx) =>
      together(trx, [sql`SELECT id FROM things WHERE id = 1 FOR UPDATE`, sql<{ n: number }>`SELECT n FROM things WHERE id = 1`]),
    );
    // The reader is now waiting for the row; the writer commits its change.
    await new Promise((r) => setTimeout(r, 50));
    release();
    await writer;
    const [, [row]] = await reader;
    expect(row).toEqual({ n: 5 });
  });

  it("fail with the first failure and leave nothing of the transaction", async () => {
    await expect(
      db.transaction().execute((trx) => together(trx, [insert(1), insert(1), sql`SELECT 1`])),
    ).rejects.toThrow(/duplicate key/);
    expect(await ids()).toEqual([]);
    await db.transaction().execute(async (trx) => together(trx, [insert(3)], { last: true }));
    expect(await ids()).toEqual([3]);
  });

  it("commit with the transaction when sent as its last, or roll it back whole", async () => {
    await db.transaction().execute(async (trx) => {
      await insert(1).execute(trx);
      await together(trx, [insert(2), sql`UPDATE things SET n = 7 WHERE id = 1`], { last: true });
    });
    expect(await ids()).toEqual([1, 2]);
    await expect(
      db.transaction().execute(async (trx) => {
        await insert(3).execute(trx);
        await together(trx, [insert(4), insert(1)], { last: true });
      }),
    ).rejects.toThrow(/duplicate key/);
    expect(await ids()).toEqual([1, 2]);
  });

  it("take query builders as well as raw SQL", async () => {
    const [rows] = await db.transaction().execute((trx) => together(trx, [trx.selectNoFrom((eb) => eb.val(1).as("one"))]));
    expect(rows).toEqual([{ one: "1" }]);
  });
});
