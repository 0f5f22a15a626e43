import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createHarness, startSmtpSink, type Harness, type SmtpSink } from "@nurture/testkit";
import { Redis } from "ioredis";
import { sql } from "kysely";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorker, type RunningWorker } from "../worker";

let h: Harness;
let smtp: SmtpSink;
let child: ChildProcess | undefined;
let rescuer: RunningWorker | undefined;
beforeAll(async () => {
  smtp = await startSmtpSink();
  // No in-process worker: the first worker is a separate process this test kills.
  h = await createHarness({ config: { SMTP_URL: smtp.url } });
});
afterAll(async () => {
  child?.kill("SIGKILL");
  await rescuer?.close();
  await h.close();
  await smtp.close();
});

async function until<T>(fn: () => Promise<T | undefined | null | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}

function startWorkerProcess(): Promise<ChildProcess> {
  const script = fileURLToPath(new URL("../testing/worker-process.fixture.ts", import.meta.url));
  const env = {
    ...process.env,
    NODE_ENV: "test",
    DATABASE_URL: h.config.DATABASE_URL!,
    NURTURE_TEST_SCHEMA: h.schema,
    REDIS_URL: h.config.REDIS_URL,
    QUEUE_PREFIX: h.config.QUEUE_PREFIX,
    SMTP_URL: smtp.url,
    SIGNING_SECRET: h.config.SIGNING_SECRET!,
    PUBLIC_URL: h.config.PUBLIC_URL!,
    LOG_LEVEL: "silent",
  };
  const proc = fork(script, [], { env, execArgv: ["--import", "tsx"], stdio: "ignore" });
  return new Promise((resolve, reject) => {
    proc.once("message", () => resolve(proc));
    proc.once("exit", (code) => reject(new Error(`worker process exited early (${code})`)));
  });
}

/** A campaign that emails `address` once, triggered for `userId` while a worker process runs it. */
async function triggerEmail(userId: string, address: string, event: string): Promise<void> {
  const created = await h.admin({ method: "POST", url: "/v1/campaigns", payload: { name: `Crash ${event}`, trigger: { type: "event", event }, steps: [{ channel: "email", content: { subject: "Exactly once", html: "<p>x</p>" } }] } });
  await h.admin({ method: "POST", url: `/v1/campaigns/${created.json().id}/status`, payload: { status: "active" } });
  await h.track("/v1/identify", { userId, traits: { email: address } });
  await h.track("/v1/track", { userId, event });
}

/** Kills the worker process; PostgreSQL rolls back its open transaction at once. Resolves with the message, unlocked again. */
async function killWorker(address: string): Promise<{ id: number; status: string }> {
  child!.kill("SIGKILL");
  await new Promise((r) => child!.once("exit", r));
  return until(async () => {
    const rows = await sql<{ id: number; status: string }>`SELECT id, status FROM messages WHERE user_id IN (SELECT id FROM users WHERE properties->>'email' = ${address}) FOR UPDATE NOWAIT`
      .execute(h.db)
      .catch(() => null);
    return rows?.rows[0];
  });
}

/**
 * What time does to a dead worker's job: its BullMQ lock expires and the next stalled check hands
 * the job on to another worker (done here by hand instead of waiting for the lock to expire).
 */
async function handOnStalledJob(): Promise<void> {
  const [active] = await h.queues.get("email").getActive();
  expect(active).toBeDefined();
  const redis = new Redis(h.config.REDIS_URL);
  const key = (suffix: string) => `${h.config.QUEUE_PREFIX}:email:${suffix}`;
  await redis.del(key(`${active!.id}:lock`), key("stalled-check"));
  await redis.sadd(key("stalled"), active!.id!);
  redis.disconnect();
  rescuer = startWorker({ config: h.config, db: h.db, deliveryPools: h.deliveryPools, queues: h.queues, log: pino({ level: "silent" }), now: h.clock.now }, { sweepIntervalMs: 0 });
}

async function settled(messageId: number) {
  const row = await until(async () => {
    const m = await h.db.selectFrom("messages").selectAll().where("id", "=", messageId).executeTakeFirstOrThrow();
    return m.status !== "queued" ? m : null;
  });
  // Give a duplicate every chance to show up before counting.
  await until(async () => (await h.queues.get("email").getJobCounts("active")).active === 0);
  await new Promise((r) => setTimeout(r, 300));
  await rescuer?.close();
  rescuer = undefined;
  return row;
}

describe("a worker killed mid-send", () => {
  it("leaves the message queued for another worker when it dies before handing it over, and it is sent once", async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const reachedSmtp = new Promise<void>((resolve) => smtp.onRecipientSeen((a) => a === "victim@example.test" && resolve()));
    smtp.onRecipient((address) => (address === "victim@example.test" ? { hold: held } : null));
    child = await startWorkerProcess();
    await triggerEmail("victim", "victim@example.test", "crash");

    // The worker holds the message in its open transaction, in the middle of the SMTP conversation.
    await reachedSmtp;
    const rolledBack = await killWorker("victim@example.test");
    release();
    expect(rolledBack.status).toBe("queued");

    await handOnStalledJob();
    const sent = await settled(rolledBack.id);
    expect(sent.status).toBe("sent");
    // The killed attempt left nothing behind: one attempt on record.
    expect(sent.attempts).toBe(1);
    expect(smtp.to("victim@example.test")).toHaveLength(1);
  });

  it("sends no second copy when it dies after handing the message over, and records the outcome as unknown", async () => {
    // The server has the whole message; its "250" waits until the worker is dead.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const handedOver = new Promise<void>((resolve) => smtp.beforeReply((m) => (m.to.includes("late@example.test") ? (resolve(), held) : undefined)));
    child = await startWorkerProcess();
    await triggerEmail("late", "late@example.test", "crash_late");

    await handedOver;
    const rolledBack = await killWorker("late@example.test");
    release();
    expect(rolledBack.status).toBe("queued");

    await handOnStalledJob();
    const row = await settled(rolledBack.id);
    expect(row).toMatchObject({ status: "failed", reason: expect.stringMatching(/^outcome unknown, not resent: handed to the SMTP server at/) });
    expect(smtp.to("late@example.test")).toHaveLength(1);
  });
});
