import { randomUUID } from "node:crypto";
import { createQueues, type Queues } from "@nurture/jobs";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPipelineNotifier } from "./pipeline-notifier";

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const PROJECT = "0b7f1d3e-2a5c-4e8f-9b61-7c3d2e1f0a99";

describe("the API's pipeline signals", () => {
  let queues: Queues;

  beforeAll(() => {
    queues = createQueues({ redisUrl: REDIS_URL, prefix: `notifier-${randomUUID().slice(0, 8)}` });
  });
  afterAll(async () => {
    await queues.get("pipeline").obliterate({ force: true });
    await queues.close();
  });

  const waitingJobs = async () => (await queues.get("pipeline").getJobs(["waiting"])).map((j) => j.data as { projectId: string; userIds: number[] });

  it("puts the users of requests answered by one commit in one job, without waiting for a timer", async () => {
    await queues.get("pipeline").waitUntilReady();
    const notifier = createPipelineNotifier(queues, pino({ level: "silent" }));
    let commit!: () => void;
    const committed = new Promise<void>((resolve) => (commit = resolve));
    // Three requests waiting on the same group commit, as the ingest coalescer answers them.
    const requests = [11, 12, 13].map(async (userId) => {
      await committed;
      notifier.notify(PROJECT, [userId]);
    });
    commit();
    await Promise.all(requests);
    for (let i = 0; i < 100 && (await waitingJobs()).length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(await waitingJobs()).toEqual([{ projectId: PROJECT, userIds: [11, 12, 13] }]);
  });
});
