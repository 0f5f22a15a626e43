import { createHarness, type Harness } from "@nurture/testkit";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { takePipelineInProcess, type InProcessPipeline } from "./in-process-pipeline";
import type { WorkerDeps } from "./worker-deps";

const unprocessed = async (h: Harness) =>
  Number((await h.db.selectFrom("events").select((eb) => eb.fn.countAll<number>().as("n")).where("processed_at", "is", null).executeTakeFirstOrThrow()).n);

const pipelineJobs = async (h: Harness) => {
  const counts = await h.queues.get("pipeline").getJobCounts("waiting", "active", "delayed", "completed", "failed");
  return Object.values(counts).reduce((a, b) => a + b, 0);
};

const until = async (check: () => Promise<boolean> | boolean, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe("an API and a worker in one process (npm start)", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness({ worker: true });
  });
  afterAll(async () => h.close());

  it("hands a visitor's events straight to the worker: processed, with no pipeline job in Redis", async () => {
    await h.track("/v1/track", { anonymousId: "here-1", event: "viewed_pricing" });
    await h.drain();
    expect(await unprocessed(h)).toBe(0);
    expect(await pipelineJobs(h)).toBe(0);
    const card = await h.admin({ method: "GET", url: "/v1/users/here-1" });
    expect(card.json().eventStats.viewed_pricing).toMatchObject({ count: 1 });
  });
});

describe("the worker's in-process intake", () => {
  let h: Harness;
  let intake: InProcessPipeline | undefined;
  let deps: WorkerDeps;
  beforeAll(async () => {
    // An API with no worker beside it; each test puts in the intake it needs.
    h = await createHarness();
    deps = { config: h.config, db: h.db, deliveryPools: h.deliveryPools, queues: h.queues, log: pino({ level: "silent" }), now: () => new Date() };
  });
  afterEach(async () => {
    await intake?.close();
    intake = undefined;
    await h.queues.get("pipeline").obliterate({ force: true });
  });
  afterAll(async () => h.close());

  it("with every slot busy with the queue's jobs, leaves the work to Redis", async () => {
    intake = takePipelineInProcess(deps, { slots: 2, fromQueue: () => 2 });
    await h.track("/v1/track", { anonymousId: "busy-1", event: "viewed" });
    await until(async () => (await h.queues.get("pipeline").getWaitingCount()) === 1);
    expect(intake.running()).toBe(0);
  });

  it("puts a run that failed into the queue, for its retries", async () => {
    intake = takePipelineInProcess(deps, {
      slots: 4,
      run: async () => {
          throw new Error("connection terminated");
      },
    });
    await h.track("/v1/track", { anonymousId: "failing-1", event: "viewed" });
    await until(async () => (await h.queues.get("pipeline").getWaitingCount()) === 1);
    const [job] = await h.queues.get("pipeline").getWaiting();
    expect(job!.data).toMatchObject({ projectId: h.project.id, userIds: [expect.any(Number)] });
    expect(job!.opts.attempts).toBeGreaterThan(1);
  });

  it("on close takes no more, and waits for the runs it took", async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let finished = false;
    intake = takePipelineInProcess(deps, {
      slots: 4,
      run: async () => {
        await held;
        finished = true;
        return { processed: 0, deferred: 0 };
      },
    });
    await h.track("/v1/track", { anonymousId: "closing-1", event: "viewed" });
    await until(() => intake!.running() === 1);
    const closed = intake.close();
    // Closed to new work: the next visitor's events go to Redis.
    await h.track("/v1/track", { anonymousId: "closing-2", event: "viewed" });
    await until(async () => (await h.queues.get("pipeline").getWaitingCount()) === 1);
    expect(finished).toBe(false);
    release();
    await closed;
    expect(finished).toBe(true);
    expect(intake.running()).toBe(0);
  });
});
