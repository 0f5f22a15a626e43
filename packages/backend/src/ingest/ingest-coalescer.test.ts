import { createTestDatabase, type TestDatabase } from "@nurture/db/testing";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProject } from "../projects";
import type { IncomingEvent } from "./incoming-event";
import { createIngestCoalescer } from "./ingest-coalescer";
import { ingestEvents } from "./ingest-events";

let tdb: TestDatabase;
let projectId: string;
beforeAll(async () => {
  tdb = await createTestDatabase();
  projectId = (await createProject(tdb.db, "Coalesced shop")).id;
});
afterAll(async () => tdb.destroy());

const at = new Date("2026-03-01T10:00:00Z");
const track = (messageId: string, anonymousId: string): IncomingEvent => ({ type: "track", messageId, anonymousId, name: "viewed", properties: {}, context: {}, occurredAt: at });

/** The transaction that stored each message (PostgreSQL's xmin of its row). */
async function transactionOf(messageIds: string[]): Promise<Record<string, string>> {
  const rows = await sql<{ message_id: string; tx: string }>`
    SELECT message_id, xmin::text AS tx FROM events WHERE project_id = ${projectId} AND message_id = ANY(${messageIds}::text[])
  `.execute(tdb.db);
  return Object.fromEntries(rows.rows.map((r) => [r.message_id, r.tx]));
}

async function storedMessageIds(prefix: string): Promise<string[]> {
  const rows = await tdb.db.selectFrom("events").select("message_id").where("project_id", "=", projectId).where("message_id", "like", `${prefix}%`).execute();
  return rows.map((r) => r.message_id).sort();
}

describe("group commit of ingestion requests", () => {
  it("stores the requests that arrive while the project is busy together, in one transaction, each with its own outcome", async () => {
    const coalescer = createIngestCoalescer(tdb.db, { busyAt: 1, transactionsWhenBusy: 1 });
    const [first, second, third] = await Promise.all([
      coalescer.ingest(projectId, [track("g-a", "visitor-a")]),
      coalescer.ingest(projectId, [track("g-b1", "visitor-b"), track("g-b2", "visitor-b")]),
      // g-b2 again: the earlier request stored it, so here it is a duplicate.
      coalescer.ingest(projectId, [track("g-c1", "visitor-c"), track("g-b2", "visitor-b")]),
    ]);
    expect(first).toMatchObject({ stored: 1, duplicates: 0 });
    expect(second).toMatchObject({ stored: 2, duplicates: 0 });
    expect(third).toMatchObject({ stored: 1, duplicates: 1 });
    expect(third.userIds).toHaveLength(2);
    expect(third.userIds).toContain(second.userIds[0]);

    const tx = await transactionOf(["g-a", "g-b1", "g-b2", "g-c1"]);
    expect(tx["g-b1"]).toBe(tx["g-c1"]);
    expect(tx["g-b2"]).toBe(tx["g-c1"]);
    expect(tx["g-a"]).not.toBe(tx["g-c1"]);
  });

  it("fails only the request at fault when the shared transaction fails, and applies nothing of it", async () => {
    await ingestEvents(tdb.db, projectId, [
      { type: "identify", messageId: "f-setup", userId: "erin", name: "$identify", properties: {}, traits: { plan: "free" }, context: {}, occurredAt: at },
    ]);
    const coalescer = createIngestCoalescer(tdb.db, { busyAt: 1, transactionsWhenBusy: 1 });
    const outcomes = await Promise.allSettled([
      coalescer.ingest(projectId, [track("f-0", "visitor-f0")]),
      coalescer.ingest(projectId, [track("f-1", "visitor-f1")]),
      coalescer.ingest(projectId, [
        track("f-bad-1", "visitor-bad"),
        // "plan" holds text: it cannot be incremented.
        { type: "identify", messageId: "f-bad-2", userId: "erin", name: "$identify", properties: {}, ops: [{ op: "increment", key: "plan", value: 1 }], context: {}, occurredAt: at },
      ]),
      coalescer.ingest(projectId, [track("f-3", "visitor-f3")]),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "fulfilled", "rejected", "fulfilled"]);
    expect((outcomes[2] as PromiseRejectedResult).reason).toMatchObject({ code: "unprocessable" });
    expect(await storedMessageIds("f-")).toEqual(["f-0", "f-1", "f-3", "f-setup"]);
    const badVisitor = await tdb.db.selectFrom("anonymous_ids").select("user_id").where("project_id", "=", projectId).where("anonymous_id", "=", "visitor-bad").execute();
    expect(badVisitor).toEqual([]);
  });

  it("lets a project sending little go at once: each small request in its own transaction", async () => {
    const coalescer = createIngestCoalescer(tdb.db);
    const ids = ["s-a", "s-b", "s-c"];
    await Promise.all(ids.map((id) => coalescer.ingest(projectId, [track(id, `visitor-${id}`)])));
    expect(new Set(Object.values(await transactionOf(ids))).size).toBe(ids.length);
  });

  it("lets a burst of small requests from one project share transactions once several are under way", async () => {
    const coalescer = createIngestCoalescer(tdb.db);
    const ids = Array.from({ length: 30 }, (_, i) => `burst-${i}`);
    // All about one visitor, as a page firing many events at once: each would lock the same card.
    const results = await Promise.all(ids.map((id) => coalescer.ingest(projectId, [track(id, "visitor-burst")])));
    expect(results.every((r) => r.stored === 1)).toBe(true);
    // The first three go at once; the rest wait for one of them to end, then go together.
    expect(new Set(Object.values(await transactionOf(ids))).size).toBeLessThanOrEqual(4);
  });

  it("takes no more messages into one transaction than its limit", async () => {
    const coalescer = createIngestCoalescer(tdb.db, { busyAt: 1, transactionsWhenBusy: 1, maxEvents: 2 });
    await Promise.all(["m-a", "m-b", "m-c", "m-d"].map((id) => coalescer.ingest(projectId, [track(id, `visitor-${id}`)])));
    const tx = await transactionOf(["m-a", "m-b", "m-c", "m-d"]);
    expect(tx["m-b"]).toBe(tx["m-c"]);
    expect(new Set(Object.values(tx)).size).toBe(3);
  });
});
