import { createHarness, type Harness } from "@nurture/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let h: Harness;
beforeAll(async () => {
  h = await createHarness({ worker: true });
});
afterAll(async () => h.close());

describe("maintenance jobs lost with Redis", () => {
  it("are put back by the sweeper and finish from PostgreSQL's record", async () => {
    await h.admin({ method: "POST", url: "/v1/scoring-rules", payload: { name: "Visits", event: "visited", points: 3 } });
    await h.track("/v1/track", { userId: "lost-job", event: "visited" });
    await h.drain();
    // Pause the worker's maintenance queue so the job is still waiting when Redis "loses" it.
    const queue = h.queues.get("maintenance");
    await queue.pause();
    const started = await h.admin({ method: "POST", url: "/v1/scoring/recompute" });
    expect(started.statusCode).toBe(202);
    const jobId = started.json().id;
    await queue.obliterate({ force: true });
    await queue.resume();
    expect((await h.admin({ method: "GET", url: `/v1/scoring/recompute/${jobId}` })).json().status).toBe("queued");

    h.clock.advance(60_000);
    try {
      await h.worker!.sweep();
    } finally {
      h.clock.real();
    }
    await expect
      .poll(async () => (await h.admin({ method: "GET", url: `/v1/scoring/recompute/${jobId}` })).json().status, { timeout: 15_000 })
      .toBe("done");
    expect((await h.admin({ method: "GET", url: "/v1/users/lost-job" })).json().score).toBe(3);
  });
});
