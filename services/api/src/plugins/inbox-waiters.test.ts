import { createQueues, createRedis, inboxSignalChannel, type Queues } from "@nurture/jobs";
import { Redis } from "ioredis";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPrivateRedis, type PrivateRedis } from "../security/testing/private-redis";
import { createInboxWaiters, type InboxWaiters } from "./inbox-waiters";

const PREFIX = "waiters";
const PROJECT = "6f1c0c52-8f4e-4c7e-9d55-3f0d2b0e9a11";

describe("widget requests waiting for an inbox", () => {
  let redisServer: PrivateRedis;
  let admin: Redis;
  let producer: Redis;
  let queues: Queues;
  let waiters: InboxWaiters;

  /** Whether the promise has settled by now. */
  const settled = async (p: Promise<unknown>) => Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 50))]);
  const subscribed = async () => {
    for (;;) {
      const [, count] = (await admin.pubsub("NUMSUB", inboxSignalChannel(PREFIX)).catch(() => [null, 0])) as [unknown, number];
      if (Number(count) > 0) return;
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  /** The producer reconnects on its own schedule; until then a signal is refused, not queued. */
  const producerReconnected = async (userId = 0) => {
    for (let i = 0; i < 100 && !(await queues.signalInbox(PROJECT, userId).then(() => true, () => false)); i++) await new Promise((r) => setTimeout(r, 50));
  };

  beforeAll(async () => {
    redisServer = await startPrivateRedis();
    admin = new Redis(redisServer.url, { maxRetriesPerRequest: null });
    admin.on("error", () => {});
    producer = createRedis(redisServer.url, "producer");
    queues = createQueues({ redisUrl: redisServer.url, prefix: PREFIX });
    waiters = createInboxWaiters(producer, queues, PREFIX, pino({ level: "silent" }));
  });
  afterAll(async () => {
    waiters.close();
    await queues.close();
    producer.disconnect();
    admin.disconnect();
    await redisServer.kill();
  });

  it("wakes the request of the user whose inbox was signalled, and only theirs", async () => {
    const stop = new AbortController();
    const ann = waiters.wait(PROJECT, 1, 20_000, stop.signal);
    const bob = waiters.wait(PROJECT, 2, 20_000, stop.signal);
    await subscribed();
    await queues.signalInbox(PROJECT, 1);
    expect(await ann).toBeUndefined();
    expect(await settled(bob)).toBe(false);
    stop.abort();
    await bob;
  });

  it("hands the waiting request the messages the signal brought", async () => {
    const stop = new AbortController();
    const dee = waiters.wait(PROJECT, 6, 20_000, stop.signal);
    await subscribed();
    const popup = { id: "7", channel: "popup", content: { body: "Hi\nthere" }, createdAt: "2026-12-02T10:00:00.000Z" };
    await queues.signalInbox(PROJECT, 6, [popup]);
    expect(await dee).toEqual([popup]);
  });

  it("hears the worker of its own process at once, even while Redis is down", async () => {
    await redisServer.kill();
    try {
      const stop = new AbortController();
      const eve = waiters.wait(PROJECT, 7, 20_000, stop.signal);
      const popup = { id: "8", channel: "popup", content: { body: "Hi" }, createdAt: "2026-12-02T10:00:00.000Z" };
      const sent = queues.signalInbox(PROJECT, 7, [popup]).catch(() => "not published");
      expect(await eve).toEqual([popup]);
      expect(await sent).toBe("not published");
    } finally {
      await redisServer.start();
      await producerReconnected();
    }
  });

  it("ends the wait at once, to look again, for a signal that came while the request was still looking", async () => {
    const popup = { id: "9", channel: "popup", content: { body: "Hi" }, createdAt: "2026-12-02T10:00:00.000Z" };
    const lookBegan = performance.now();
    await queues.signalInbox(PROJECT, 8, [popup]);
    expect(await settled(waiters.wait(PROJECT, 8, 20_000, new AbortController().signal, lookBegan))).toBe(true);

    // A signal from before the look began was that look's to see: the request waits for a new one.
    const stop = new AbortController();
    const later = waiters.wait(PROJECT, 8, 20_000, stop.signal, performance.now());
    expect(await settled(later)).toBe(false);
    stop.abort();
    await later;
  });

  it("ends a wait when its time is up or the visitor leaves", async () => {
    await waiters.wait(PROJECT, 3, 30, new AbortController().signal);
    const left = new AbortController();
    const waiting = waiters.wait(PROJECT, 3, 20_000, left.signal);
    left.abort();
    expect(await settled(waiting)).toBe(true);
  });

  it("hears signals again after Redis restarts", async () => {
    const stop = new AbortController();
    await subscribed();
    await redisServer.kill();
    await redisServer.start();
    const carl = waiters.wait(PROJECT, 4, 20_000, stop.signal);
    await subscribed();
    await producerReconnected(4);
    expect(await settled(carl)).toBe(true);
    stop.abort();
  });

  it("answers every waiting request when the API closes", async () => {
    const own = createInboxWaiters(producer, queues, PREFIX, pino({ level: "silent" }));
    const waiting = [own.wait(PROJECT, 5, 20_000, new AbortController().signal), own.wait(PROJECT, null, 20_000, new AbortController().signal)];
    own.close();
    expect(await Promise.all(waiting.map(settled))).toEqual([true, true]);
  });
});
