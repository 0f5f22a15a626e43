import { ingestEvents, processUser } from "@nurture/backend";
import { createQueues } from "@nurture/jobs";
import { createHarness, type Harness } from "@nurture/testkit";
import { buildApp } from "@nurture/api";
import { createRedis } from "@nurture/jobs";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let h: Harness;
beforeAll(async () => {
  h = await createHarness({ worker: true });
});
afterAll(async () => h.close());

const unprocessed = async () =>
  Number((await h.db.selectFrom("events").select((eb) => eb.fn.countAll<number>().as("n")).where("processed_at", "is", null).executeTakeFirstOrThrow()).n);

describe("the event pipeline", () => {
  it("processes stored events in the background", async () => {
    await h.track("/v1/track", { anonymousId: "p-1", event: "viewed" });
    await h.drain();
    expect(await unprocessed()).toBe(0);
  });

  it("still answers 2xx when Redis is down, and the sweeper catches up once it is back", async () => {
    // An API whose Redis is unreachable: ingestion commits in PostgreSQL regardless.
    const deadRedis = "redis://127.0.0.1:1";
    const log = pino({ level: "silent" });
    const queues = createQueues({ redisUrl: deadRedis, prefix: h.config.QUEUE_PREFIX });
    const redis = createRedis(deadRedis, "producer");
    const app = await buildApp({ config: h.config, db: h.db, queues, redis, log, now: () => new Date() });
    const res = await app.inject({
      method: "POST",
      url: "/v1/track",
      payload: { writeKey: h.project.writeKey, anonymousId: "p-2", event: "during_outage" },
    });
    expect(res.statusCode).toBe(200);
    expect((await app.inject({ method: "GET", url: "/health" })).json()).toMatchObject({ database: "up", redis: "down" });
    await app.close();
    await queues.close();
    redis.disconnect();
    expect(await unprocessed()).toBe(1);

    // Redis "returns": the worker's sweeper finds the backlog and it gets processed, once.
    h.clock.advance(10_000);
    await h.worker!.sweep();
    await h.drain();
    h.clock.real();
    expect(await unprocessed()).toBe(0);
  });

  it("processes a user's events once even when jobs are duplicated", async () => {
    const result = await ingestEvents(h.db, h.project.id, [
      { type: "track", name: "dup", messageId: "dup-1", anonymousId: "p-3", properties: {}, context: {}, occurredAt: new Date() },
    ]);
    const userId = result.userIds[0]!;
    const deps = { db: h.db, queues: h.queues, now: () => new Date(), log: pino({ level: "silent" }) };
    const runs = await Promise.all([processUser(deps, h.project.id, userId), processUser(deps, h.project.id, userId), processUser(deps, h.project.id, userId)]);
    expect(runs.map((r) => r.processed).sort()).toEqual([0, 0, 1]);
  });

  it("applies a rule changed a moment ago to the very next event", async () => {
    // The worker keeps a project's rules between runs; a change must still count at once.
    const score = async () => (await h.admin({ method: "GET", url: "/v1/users/rules-fan" })).json().score;
    const rule = (await h.admin({ method: "POST", url: "/v1/scoring-rules", payload: { name: "Likes", event: "liked", points: 2 } })).json();
    await h.track("/v1/track", { userId: "rules-fan", event: "liked" });
    await h.drain();
    expect(await score()).toBe(2);

    await h.admin({ method: "PATCH", url: `/v1/scoring-rules/${rule.id}`, payload: { points: 5 } });
    await h.track("/v1/track", { userId: "rules-fan", event: "liked" });
    await h.drain();
    expect(await score()).toBe(7);

    const campaign = (await h.admin({ method: "POST", url: "/v1/campaigns", payload: { name: "Thanks", trigger: { type: "event", event: "liked" }, steps: [{ channel: "popup", content: { body: "Thanks!" } }] } })).json();
    await h.admin({ method: "POST", url: `/v1/campaigns/${campaign.id}/status`, payload: { status: "active" } });
    await h.track("/v1/track", { userId: "rules-fan", event: "liked" });
    await h.drain();
    const inbox = await h.app.inject({ method: "GET", url: `/v1/widget/messages?writeKey=${h.project.writeKey}&anonymousId=x&userId=rules-fan` });
    expect(inbox.json().messages.map((m: { content: { body: string } }) => m.content.body)).toEqual(["Thanks!"]);
  });

  it("adds no jobs for a backlog whose jobs are still waiting", async () => {
    const queue = h.queues.get("pipeline");
    await queue.pause();
    try {
      // Stored, and their job waits behind a backlog (the queue is paused).
      const stored = await ingestEvents(h.db, h.project.id, Array.from({ length: 5 }, (_, i) => ({ type: "track" as const, name: "viewed", messageId: `backlog-${i}`, anonymousId: `backlog-${i}`, properties: {}, context: {}, occurredAt: new Date() })));
      await queue.add("pipeline", { projectId: h.project.id, userIds: stored.userIds });
      const before = await queue.count();
      h.clock.advance(60_000);
      await h.worker!.sweep();
      expect(await queue.count()).toBe(before);
    } finally {
      h.clock.real();
      await queue.resume();
    }
    await h.drain();
    expect(await unprocessed()).toBe(0);
  });
});
