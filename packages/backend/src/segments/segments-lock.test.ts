import { createHarness, type Harness } from "@nurture/testkit";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ingestEvents } from "../ingest/ingest-events";
import { processUser } from "../pipeline/process-user";
import { SegmentsRebuildingError } from "./segments.processor";
import { lockSegmentsForRebuild } from "./segments-lock";

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => h.close());

describe("a segment rebuild and the pipeline", () => {
  it("never interleave: a pipeline run meeting a rebuild fails untouched and succeeds afterwards", async () => {
    const { userIds } = await ingestEvents(h.db, h.project.id, [
      { type: "track", name: "order_paid", messageId: "lock-1", userId: "ann", properties: {}, context: {}, occurredAt: new Date() },
    ]);
    const deps = { db: h.db, queues: h.queues, now: () => new Date(), log: pino({ level: "silent" }) };
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    const rebuild = h.db.transaction().execute(async (trx) => {
      await lockSegmentsForRebuild(trx, h.project.id);
      locked();
      await held;
    });
    await isLocked;
    await expect(processUser(deps, h.project.id, userIds[0]!)).rejects.toBeInstanceOf(SegmentsRebuildingError);
    release();
    await rebuild;
    expect(await processUser(deps, h.project.id, userIds[0]!)).toEqual({ processed: 1 });
  });
});
