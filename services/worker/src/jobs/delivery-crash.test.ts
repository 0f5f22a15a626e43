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

describe("a worker killed mid-send", () => {
  it("leaves the message queued for another worker, which sends it exactly once", async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const reachedSmtp = new Promise<void>((resolve) => smtp.onRecipientSeen((a) => a === "victim@example.test" && resolve()));
    smtp.onRecipient((address) => (address === "victim@example.test" ? { hold: held } : null));

    const created = await h.admin({ method: "POST", url: "/v1/campaigns", payload: { name: "Crash", trigger: { type: "event", event: "crash" }, steps: [{ channel: "email", content: { subject: "Exactly once", html: "<p>x</p>" } }] } });
    await h.admin({ method: "POST", url: `/v1/campaigns/${created.json().id}/status`, payload: { status: "active" } });
    child = await startWorkerProcess();
    await h.track("/v1/identify", { userId: "victim", traits: { email: "victim@example.test" } });
    await h.track("/v1/track", { userId: "victim", event: "crash" });

    // The worker process holds the message in its open transaction, in the middle of the SMTP
    // conversation; killing it rolls that transaction back at once.
    await reachedSmtp;
    child.kill("SIGKILL");
    await new Promise((r) => child!.once("exit", r));
    release();
    const [rolledBack] = await until(async () => {
      const rows = await sql<{ id: number; status: string }>`SELECT id, status FROM messages FOR UPDATE NOWAIT`.execute(h.db).catch(() => null);
      return rows?.rows.length ? rows.rows : null;
    });
    expect(rolledBack).toMatchObject({ status: "queued" });

    // What time does to a dead worker's job: its BullMQ lock expires and the next stalled check
    // hands the job on. (Done here by hand, instead of waiting for the lock to expire.)
    const [active] = await h.queues.get("email").getActive();
    expect(active).toBeDefined();
    const redis = new Redis(h.config.REDIS_URL);
    const key = (suffix: string) => `${h.config.QUEUE_PREFIX}:email:${suffix}`;
    await redis.del(key(`${active!.id}:lock`), key("stalled-check"));
    await redis.sadd(key("stalled"), active!.id!);
    redis.disconnect();

    rescuer = startWorker({ config: h.config, db: h.db, queues: h.queues, log: pino({ level: "silent" }), now: h.clock.now }, { sweepIntervalMs: 0 });
    await smtp.waitFor((m) => m.to.includes("victim@example.test"));
    const sent = await until(async () => {
      const row = await h.db.selectFrom("messages").selectAll().where("id", "=", rolledBack!.id).executeTakeFirstOrThrow();
      return row.status === "sent" ? row : null;
    });
    // The killed attempt left nothing behind: one attempt on record.
    expect(sent.attempts).toBe(1);
    // Give a duplicate every chance to show up before counting.
    await until(async () => (await h.queues.get("email").getJobCounts("active", "waiting")).active === 0);
    await new Promise((r) => setTimeout(r, 300));
    expect(smtp.to("victim@example.test")).toHaveLength(1);
    expect(await h.db.selectFrom("messages").select("id").execute()).toHaveLength(1);
  });
});
