/**
 * Time moves without events: "no activity in the last 14 days" becomes true while nothing happens.
 * The clock is injected; the worker's sweeper finds users whose tick is due (no whole-table scan).
 */
import { createHarness, type Harness } from "@nurture/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const DAY = 86_400_000;
const T0 = Date.parse("2026-03-01T12:00:00Z");
const at = (ms: number) => new Date(ms).toISOString();

let h: Harness;
beforeAll(async () => {
  h = await createHarness({ worker: true });
  h.clock.set(at(T0));
});
afterAll(async () => h.close());

const session = (userId: string, when: number) => ({ type: "track", userId, event: "$session_start", timestamp: at(when) });
const members = async (segmentId: string) =>
  ((await h.admin({ method: "GET", url: `/v1/segments/${segmentId}/users?limit=100` })).json().items as { userId: string }[]).map((u) => u.userId).sort();
const entries = async (userId: string) => (await h.admin({ method: "GET", url: `/v1/users/${userId}/events?name=%24segment_entered` })).json().items as unknown[];
async function settled() {
  for (let i = 0; i < 400; i++) {
    if ((await h.db.selectFrom("segment_tasks").select("id").where("status", "in", ["queued", "running"]).execute()).length === 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("segment tasks did not finish");
}
/** Moves the clock, lets the sweeper enqueue whatever is due, and waits for the pipeline. */
async function moveTo(ms: number) {
  h.clock.set(at(ms));
  await h.worker!.sweep();
  await h.drain();
}

describe("a segment that changes with time alone", () => {
  it("takes in a user the moment their last activity is 14 days old, with no new event", async () => {
    await h.track("/v1/batch", { batch: [session("ann", T0 - 10 * DAY), session("bob", T0 - 1 * DAY)] });
    await h.drain();
    const res = await h.admin({
      method: "POST",
      url: "/v1/segments",
      payload: { name: "Gone quiet", condition: { and: [{ identified: true }, { not: { event: "$session_start", last: { op: "within_last_days", days: 14 } } }] } },
    });
    expect(res.statusCode).toBe(201);
    const segment = res.json() as { id: string };
    await settled();
    expect(await members(segment.id)).toEqual([]);

    // A user who arrives after the segment exists is scheduled by the pipeline itself.
    await h.track("/v1/track", { userId: "cat", event: "$session_start", timestamp: at(T0) });
    await h.drain();

    // Just before ann's 14th day nothing changes...
    await moveTo(T0 + 4 * DAY - 1_000);
    expect(await members(segment.id)).toEqual([]);
    // ...and within a minute after it she is in, though she sent nothing.
    await moveTo(T0 + 4 * DAY + 30_000);
    expect(await members(segment.id)).toEqual(["ann"]);
    expect(await entries("ann")).toHaveLength(1);

    // Bob and cat follow on their own days.
    await moveTo(T0 + 13 * DAY + 30_000);
    expect(await members(segment.id)).toEqual(["ann", "bob"]);
    await moveTo(T0 + 14 * DAY + 30_000);
    expect(await members(segment.id)).toEqual(["ann", "bob", "cat"]);

    // Coming back takes ann out again.
    await h.track("/v1/track", { userId: "ann", event: "$session_start", timestamp: at(T0 + 14 * DAY + 30_000) });
    await h.drain();
    expect(await members(segment.id)).toEqual(["bob", "cat"]);
  });

  it("moves an engaged user to novice when activity stops, by time alone", async () => {
    h.clock.set(at(T0 + 20 * DAY));
    const put = await h.admin({ method: "PUT", url: "/v1/lifecycle/settings", payload: { coreEvent: "survey_created", activityEvent: "$session_start" } });
    expect(put.statusCode).toBe(200);
    const now = T0 + 20 * DAY;
    await h.track("/v1/batch", {
      batch: [session("dee", now - DAY), ...Array.from({ length: 6 }, (_, i) => ({ type: "track", userId: "dee", event: "survey_created", timestamp: at(now - i * 3_600_000) }))],
    });
    await h.drain();
    await settled();
    const stage = async () => (await h.admin({ method: "GET", url: "/v1/users/dee" })).json().lifecycleStage;
    expect(await stage()).toBe("engaged");
    await moveTo(now + 6 * DAY - 60_000);
    expect(await stage()).toBe("engaged");
    await moveTo(now + 6 * DAY + 30_000);
    expect(await stage()).toBe("novice");
  });
});
