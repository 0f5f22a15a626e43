import { createTestDatabase, type TestDatabase } from "@nurture/db/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProject } from "../projects";
import type { IncomingEvent } from "./incoming-event";
import { ingestEvents } from "./ingest-events";

let tdb: TestDatabase;
let projectId: string;
beforeAll(async () => {
  tdb = await createTestDatabase();
  projectId = (await createProject(tdb.db, "Racing shop")).id;
});
afterAll(async () => tdb.destroy());

const event = (messageId: string, ids: { anonymousId?: string; userId?: string }): IncomingEvent => ({
  type: "track",
  messageId,
  ...ids,
  name: "viewed",
  properties: {},
  context: {},
  occurredAt: new Date("2026-03-01T10:00:00Z"),
});

async function cardsOf(anonymousIds: string[]): Promise<Map<string, number>> {
  const rows = await tdb.db.selectFrom("anonymous_ids").select(["anonymous_id", "user_id"]).where("project_id", "=", projectId).where("anonymous_id", "in", anonymousIds).execute();
  return new Map(rows.map((r) => [r.anonymous_id, r.user_id]));
}

async function eventCount(userId: number): Promise<number> {
  const row = await tdb.db.selectFrom("event_stats").select("count").where("user_id", "=", userId).where("event_name", "=", "viewed").executeTakeFirst();
  return Number(row?.count ?? 0);
}

describe("new visitors named by concurrent batches", () => {
  it("get one card each, whatever order the batches name them in", async () => {
    const visitors = ["race-v1", "race-v2", "race-v3", "race-v4"];
    const batches = Array.from({ length: 6 }, (_, b) => {
      const order = b % 2 === 0 ? visitors : [...visitors].reverse();
      return order.map((v) => event(`race-${b}-${v}`, { anonymousId: v }));
    });
    await Promise.all(batches.map((batch) => ingestEvents(tdb.db, projectId, batch)));

    const cards = await cardsOf(visitors);
    expect(new Set(cards.values()).size).toBe(visitors.length);
    for (const card of cards.values()) expect(await eventCount(card)).toBe(6);
    const anonymousCards = await tdb.db.selectFrom("users").select("id").where("project_id", "=", projectId).where("user_id", "is", null).execute();
    expect(anonymousCards).toHaveLength(visitors.length);
  });

  it("make one card for a new known user that several devices name at once", async () => {
    const devices = Array.from({ length: 8 }, (_, i) => `kim-device-${i}`);
    await Promise.all(devices.map((d, i) => ingestEvents(tdb.db, projectId, [event(`kim-${i}`, { anonymousId: d, userId: "kim" })])));

    const kim = await tdb.db.selectFrom("users").select("id").where("project_id", "=", projectId).where("user_id", "=", "kim").execute();
    expect(kim).toHaveLength(1);
    const cards = await cardsOf(devices);
    expect([...cards.values()]).toEqual(devices.map(() => kim[0]!.id));
    expect(await eventCount(kim[0]!.id)).toBe(devices.length);
  });
});

describe("known visitors named by concurrent batches", () => {
  it("keep every event and statistic, whatever order the batches name them in", async () => {
    const visitors = Array.from({ length: 10 }, (_, i) => `known-v${i}`);
    await ingestEvents(tdb.db, projectId, visitors.map((v) => event(`known-first-${v}`, { anonymousId: v })));
    // Each batch writes the statistics of every card; opposite orders would deadlock unordered locks.
    const batches = Array.from({ length: 16 }, (_, b) => {
      const order = b % 2 === 0 ? visitors : [...visitors].reverse();
      // Each batch later than the last: every card's last seen moves too.
      return order.map((v) => ({ ...event(`known-${b}-${v}`, { anonymousId: v }), occurredAt: new Date(Date.UTC(2026, 2, 2, 10, b)) }));
    });
    const results = await Promise.all(batches.map((batch) => ingestEvents(tdb.db, projectId, batch)));

    expect(results.every((r) => r.stored === visitors.length)).toBe(true);
    const cards = await cardsOf(visitors);
    expect(new Set(cards.values()).size).toBe(visitors.length);
    for (const card of cards.values()) expect(await eventCount(card)).toBe(1 + batches.length);
  });
});
