// Messaging benchmarks: trigger latency (event accepted → popup in the widget inbox / email at the
// SMTP server) and campaign send rate, each against a bare BullMQ + nodemailer script.
import { randomUUID } from "node:crypto";
import { createProject } from "@nurture/backend";
import { createTestDatabase } from "@nurture/db/testing";
import { startSmtpSink, type SmtpSink } from "@nurture/testkit";
import { Queue, Worker, type ConnectionOptions } from "bullmq";
import { Redis } from "ioredis";
import nodemailer from "nodemailer";
import type SMTPPool from "nodemailer/lib/smtp-pool";
import pg from "pg";
import { noDelaySocket } from "@nurture/worker";
import { BENCH_REDIS_URL, line, round, startServerProcess, type BenchLine } from "./bench-kit";

const SAMPLES = Number(process.env.BENCH_MESSAGING_SAMPLES ?? 1_000);
const SEND_RATE_EMAILS = Number(process.env.BENCH_SEND_RATE_EMAILS ?? 600);
const SIGNING_SECRET = "bench-signing-secret-0123456789-0123456789";

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};
/** The figures against the no-delay raw baseline, beside the main ones. */
const noDelay = (ours: number, baseline: number) => ({ baselineNoDelay: round(baseline), ratioNoDelay: round(ours / baseline) });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Env {
  url: string;
  writeKey: string;
  writeAuth: string;
  secretAuth: string;
  smtp: SmtpSink;
  stop(): Promise<void>;
}

async function startEnvironment(): Promise<Env & { schema: string; connectionString: string; prefix: string }> {
  const testDb = await createTestDatabase();
  const prefix = `bench-${randomUUID().slice(0, 8)}`;
  const smtp = await startSmtpSink({ parse: false });
  const server = await startServerProcess({
    DATABASE_URL: testDb.connectionString,
    BENCH_SCHEMA: testDb.schema,
    REDIS_URL: BENCH_REDIS_URL,
    QUEUE_PREFIX: prefix,
    BENCH_WORKER: "1",
    SMTP_URL: smtp.url,
    SIGNING_SECRET,
    PUBLIC_URL: "http://127.0.0.1:3000",
    // The inbox is polled every 2 ms; the per-write-key rate limit would answer 429 and skew the figure.
    RATE_LIMIT_PER_SECOND: "0",
  });
  const project = await createProject(testDb.db, "bench-messaging");
  return {
    url: server.url,
    writeKey: project.writeKey,
    writeAuth: `Basic ${Buffer.from(`${project.writeKey}:`).toString("base64")}`,
    secretAuth: `Bearer ${project.secretKey}`,
    smtp,
    schema: testDb.schema,
    connectionString: testDb.connectionString,
    prefix,
    async stop() {
      await server.stop();
      await smtp.close();
      await testDb.destroy();
    },
  };
}

async function call(env: Env, method: string, path: string, body: unknown, auth: string): Promise<unknown> {
  const res = await fetch(`${env.url}${path}`, { method, headers: { "content-type": "application/json", authorization: auth }, body: body === undefined ? undefined : JSON.stringify(body) });
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

async function campaign(env: Env, body: Record<string, unknown>): Promise<void> {
  const created = (await call(env, "POST", "/v1/campaigns", body, env.secretAuth)) as { id: string };
  await call(env, "POST", `/v1/campaigns/${created.id}/status`, { status: "active" }, env.secretAuth);
}

/** Ingestion that does not trigger campaigns, at `rate` events/s in batches of 50, until stopped. */
function backgroundIngestion(env: Env, rate: number): { stop(): Promise<number> } {
  let running = true;
  let sent = 0;
  const run = randomUUID().slice(0, 6);
  const loop = (async () => {
    const started = performance.now();
    while (running) {
      const due = ((performance.now() - started) / 1000) * rate;
      if (sent + 50 > due) {
        await sleep(Math.max(1, ((sent + 50 - due) / rate) * 1000));
        continue;
      }
      const batch = Array.from({ length: 50 }, (_, i) => ({ type: "track", anonymousId: `bg-${run}-${(sent + i) % 5000}`, event: "product_viewed", properties: { sku: `S${i}`, price: 10 } }));
      sent += 50;
      await fetch(`${env.url}/v1/batch`, { method: "POST", headers: { "content-type": "application/json", authorization: env.writeAuth }, body: JSON.stringify({ batch }) }).catch(() => undefined);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return sent;
    },
  };
}

/**
 * The most events/s the whole system sustains — accepted by the API *and* processed by the pipeline,
 * which is slower than acceptance alone: 4 concurrent 50-event batches for `seconds`, then the
 * time until the last of them is processed and the pipeline queue is empty again.
 */
async function maxSustainedRate(env: Env, pool: pg.Pool, pipeline: Queue, seconds: number): Promise<number> {
  const run = randomUUID().slice(0, 6);
  let events = 0;
  const started = performance.now();
  const until = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: 4 }, async (_, w) => {
      let n = 0;
      while (performance.now() < until) {
        const batch = Array.from({ length: 50 }, (_, i) => ({ type: "track", anonymousId: `max-${run}-${w}-${(n * 50 + i) % 2000}`, event: "product_viewed" }));
        n += 1;
        const res = await fetch(`${env.url}/v1/batch`, { method: "POST", headers: { "content-type": "application/json", authorization: env.writeAuth }, body: JSON.stringify({ batch }) });
        if (res.status === 200) events += 50;
      }
    }),
  );
  for (;;) {
    const r = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM events WHERE processed_at IS NULL");
    const jobs = await pipeline.getJobCounts("waiting", "active", "prioritized");
    if (r.rows[0]!.n === 0 && (jobs.waiting ?? 0) + (jobs.active ?? 0) + (jobs.prioritized ?? 0) === 0) break;
    await sleep(20);
  }
  return events / ((performance.now() - started) / 1000);
}

/**
 * Raw nodemailer on sockets with Nagle's algorithm off, as our mail transport connects: a second
 * baseline, since by default every message on a pooled connection waits ~40 ms for the server's
 * delayed acknowledgement of the message before its final "." goes out (see mail-transport.ts).
 */
function rawTransport(port: number, noDelay: boolean) {
  return nodemailer.createTransport({
    host: "127.0.0.1",
    port,
    secure: false,
    pool: true,
    maxConnections: 5,
    maxRequeues: 0,
    ...(noDelay ? { getSocket: noDelaySocket } : {}),
  } as SMTPPool.Options);
}

interface BarePath {
  /** queue.add → a BullMQ worker → INSERT; resolves once the row is readable (polled every 2 ms). */
  inbox(): Promise<number>;
  /** queue.add → a BullMQ worker → pooled sendMail; resolves once the SMTP server has the email. */
  email(): Promise<number>;
  /** The same with a no-delay socket. */
  emailNoDelay(): Promise<number>;
  close(): Promise<void>;
}

/** The bare path: queue.add → a BullMQ worker → (inbox row | pooled sendMail); nothing else. */
async function startBarePath(smtp: SmtpSink, connectionString: string, schema: string): Promise<BarePath> {
  const prefix = `bench-bare-${randomUUID().slice(0, 8)}`;
  const connection = new Redis(BENCH_REDIS_URL, { maxRetriesPerRequest: null });
  const pool = new pg.Pool({ connectionString, options: `-c search_path=${schema}`, max: 6 });
  await pool.query("CREATE TABLE IF NOT EXISTS bench_inbox (id text PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())");
  const transport = rawTransport(smtp.port, false);
  const noDelayTransport = rawTransport(smtp.port, true);
  const queue = new Queue("bare", { connection: connection as ConnectionOptions, prefix });
  const worker = new Worker(
    "bare",
    async (job) => {
      const data = job.data as { kind: "inbox" | "email" | "emailNoDelay"; id: string };
      if (data.kind === "inbox") await pool.query("INSERT INTO bench_inbox (id) VALUES ($1)", [data.id]);
      else await (data.kind === "email" ? transport : noDelayTransport).sendMail({ from: "bench@shop.test", to: `${data.id}@bare.test`, subject: "Hi", html: "<p>Hello</p>", text: "Hello" });
    },
    { connection: connection.duplicate() as ConnectionOptions, prefix, concurrency: 20 },
  );
  let n = 0;
  const email = async (kind: "email" | "emailNoDelay") => {
    const id = `em-${n++}-${randomUUID().slice(0, 6)}`;
    const t0 = performance.now();
    await queue.add("bare", { kind, id }, { removeOnComplete: true });
    await smtp.waitFor((m) => m.to[0] === `${id}@bare.test`, 10_000);
    return performance.now() - t0;
  };
  return {
    async inbox() {
      const id = `in-${n++}-${randomUUID().slice(0, 6)}`;
      const t0 = performance.now();
      await queue.add("bare", { kind: "inbox", id }, { removeOnComplete: true });
      for (;;) {
        const r = await pool.query("SELECT 1 FROM bench_inbox WHERE id = $1", [id]);
        if (r.rowCount) break;
        await sleep(2);
      }
      return performance.now() - t0;
    },
    email: () => email("email"),
    emailNoDelay: () => email("emailNoDelay"),
    async close() {
      await worker.close();
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
      transport.close();
      noDelayTransport.close();
      connection.disconnect();
      await pool.end();
    },
  };
}

/** Our path: an event accepted (POST /v1/track answered) → the popup in the widget inbox / the email at the SMTP server. */
function ourPath(env: Env) {
  const track = (body: Record<string, unknown>) => call(env, "POST", "/v1/track", body, env.writeAuth);
  let n = 0;
  return {
    async inbox() {
      const visitor = `lat-${n++}-${randomUUID().slice(0, 6)}`;
      await track({ anonymousId: visitor, event: "bench_popup" });
      const t0 = performance.now();
      // As the tracker's widget asks: held open until the popup is there (long polling).
      for (;;) {
        const res = await fetch(`${env.url}/v1/widget/messages?writeKey=${encodeURIComponent(env.writeKey)}&anonymousId=${visitor}&wait=10`);
        if (res.status !== 200) throw new Error(`widget inbox answered ${res.status}`);
        const body = (await res.json()) as { messages: unknown[] };
        if (body.messages.length > 0) break;
        if (performance.now() - t0 > 30_000) throw new Error("popup did not reach the inbox within 30 s");
      }
      return performance.now() - t0;
    },
    async email() {
      const user = `mail-${n++}-${randomUUID().slice(0, 6)}`;
      await call(env, "POST", "/v1/identify", { userId: user, traits: { email: `${user}@ours.test`, name: "Ann" } }, env.writeAuth);
      await track({ userId: user, event: "bench_email" });
      const t0 = performance.now();
      await env.smtp.waitFor((m) => m.to[0] === `${user}@ours.test`, 10_000);
      return performance.now() - t0;
    },
  };
}

/**
 * trigger-latency: event accepted (POST /v1/track answered 200) → the popup is in the visitor's widget
 * inbox (polled every 2 ms over HTTP) / the email reached a local SMTP server; p50 and p99 over
 * BENCH_MESSAGING_SAMPLES samples each, while background ingestion runs at half the maximum the
 * system sustains end to end (accepted and processed; at half of mere API acceptance the pipeline's
 * backlog would grow without bound and the figure would measure the backlog). Baseline: the same two
 * outcomes through a bare script (queue.add → worker → INSERT polled every 2 ms / pooled sendMail),
 * under the same background load, in alternating rounds with ours. Targets: ratio ≤ 2, p99 < 250 ms
 * inbox, < 1 s email.
 */
export async function benchTriggerLatency(): Promise<BenchLine[]> {
  const env = await startEnvironment();
  try {
    await campaign(env, { name: "Latency popup", trigger: { type: "event", event: "bench_popup" }, steps: [{ channel: "popup", content: { body: "Hi {{ user.name }}" } }] });
    await campaign(env, { name: "Latency email", trigger: { type: "event", event: "bench_email" }, steps: [{ channel: "email", content: { subject: "Hi {{ user.name }}", html: "<p>Hello</p>" } }] });

    const pool = new pg.Pool({ connectionString: env.connectionString, options: `-c search_path=${env.schema}`, max: 2 });
    const pipeline = new Queue("pipeline", { connection: new Redis(BENCH_REDIS_URL, { maxRetriesPerRequest: null }) as ConnectionOptions, prefix: env.prefix });
    const maxRate = await maxSustainedRate(env, pool, pipeline, 3).finally(async () => {
      await pool.end();
      await pipeline.close();
    });
    const bare = await startBarePath(env.smtp, env.connectionString, env.schema);
    const ours = ourPath(env);
    const samples = { ours: { inbox: [] as number[], email: [] as number[] }, bare: { inbox: [] as number[], email: [] as number[], emailNoDelay: [] as number[] } };
    const background = backgroundIngestion(env, maxRate / 2);
    try {
      // Warm-up of both paths (JIT, connections, plan caches), then alternating rounds.
      for (let i = 0; i < 10; i++) await Promise.all([ours.inbox(), bare.inbox(), ours.email(), bare.email()].map((p) => p.catch(() => 0)));
      const ROUNDS = 4;
      const perRound = Math.ceil(SAMPLES / ROUNDS);
      for (let r = 0; r < ROUNDS; r++) {
        for (const kind of ["inbox", "email"] as const) {
          for (let i = 0; i < perRound; i++) samples.ours[kind].push(await ours[kind]());
          for (let i = 0; i < perRound; i++) samples.bare[kind].push(await bare[kind]());
        }
        for (let i = 0; i < perRound; i++) samples.bare.emailNoDelay.push(await bare.emailNoDelay());
      }
    } finally {
      await background.stop();
      await bare.close();
    }
    const extra = { samples: SAMPLES, backgroundEventsPerSecond: round(maxRate / 2, 0), maxSustainedEventsPerSecond: round(maxRate, 0) };
    const { ours: o, bare: b } = samples;
    return [
      line("trigger-latency-inbox-p50", percentile(o.inbox, 50), percentile(b.inbox, 50), "ms", { ...extra, target: "ratio <= 2" }),
      line("trigger-latency-inbox-p99", percentile(o.inbox, 99), percentile(b.inbox, 99), "ms", { ...extra, target: "ratio <= 2, ours < 250 ms" }),
      line("trigger-latency-email-p50", percentile(o.email, 50), percentile(b.email, 50), "ms", { ...extra, target: "ratio <= 2", ...noDelay(percentile(o.email, 50), percentile(b.emailNoDelay, 50)) }),
      line("trigger-latency-email-p99", percentile(o.email, 99), percentile(b.email, 99), "ms", { ...extra, target: "ratio <= 2, ours < 1000 ms", ...noDelay(percentile(o.email, 99), percentile(b.emailNoDelay, 99)) }),
    ];
  } finally {
    await env.stop();
  }
}

/**
 * send-rate: emails/s a campaign delivers to a local SMTP server when BENCH_SEND_RATE_EMAILS users
 * trigger it at once (from the first POST to the last email received) ÷ the same number of emails
 * sent by raw pooled nodemailer (same pool size) to the same server. Target ≥ 0.6.
 */
export async function benchSendRate(): Promise<BenchLine[]> {
  const env = await startEnvironment();
  const N = SEND_RATE_EMAILS;
  try {
    const runs: { ours: number; baseline: number; baselineNoDelay: number }[] = [];
    // Round 0 warms ours up (JIT, connection pools, plan caches, SMTP pool) and is not counted:
    // without it the first counted round was always the slowest, by 15–25 %.
    for (let round_ = 0; round_ <= 3; round_++) {
      const event = `blast_${round_}`;
      await campaign(env, { name: `Blast ${round_}`, trigger: { type: "event", event }, steps: [{ channel: "email", content: { subject: "Sale {{ user.name }}", html: '<p>Hello {{ user.name }}</p><a href="https://shop.test/sale">Shop</a>' } }] });
      const users = Array.from({ length: N }, (_, i) => `blast-${round_}-${i}`);
      for (let i = 0; i < N; i += 100) {
        await call(env, "POST", "/v1/batch", { batch: users.slice(i, i + 100).map((u) => ({ type: "identify", userId: u, traits: { email: `${u}@rate.test`, name: "Ann" } })) }, env.writeAuth);
      }
      const before = env.smtp.messages.length;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: Math.ceil(N / 100) }, (_, b) =>
          call(env, "POST", "/v1/batch", { batch: users.slice(b * 100, b * 100 + 100).map((u) => ({ type: "track", userId: u, event })) }, env.writeAuth),
        ),
      );
      while (env.smtp.messages.length - before < N) await sleep(5);
      const ours = N / ((performance.now() - started) / 1000);

      const raw = async (noDelay: boolean) => {
        const transport = rawTransport(env.smtp.port, noDelay);
        const baseStarted = performance.now();
        await Promise.all(users.map((u) => transport.sendMail({ from: "bench@shop.test", to: `${u}@raw.test`, subject: "Sale Ann", html: '<p>Hello Ann</p><a href="https://shop.test/sale">Shop</a>', text: "Hello Ann" })));
        transport.close();
        return N / ((performance.now() - baseStarted) / 1000);
      };
      if (round_ === 0) continue;
      const baseline = await raw(false);
      const baselineNoDelay = await raw(true);
      runs.push({ ours, baseline, baselineNoDelay });
    }
    // The run with the median ratio: one noisy round on the shared machine moves nothing.
    const mid = [...runs].sort((a, b) => a.ours / a.baseline - b.ours / b.baseline)[1]!;
    return [
      line("send-rate", mid.ours, mid.baseline, "emails/s", {
        emails: N,
        target: ">= 0.6",
        ...noDelay(mid.ours, mid.baselineNoDelay),
        runs: runs.map((r) => ({ ours: round(r.ours, 1), baseline: round(r.baseline, 1), baselineNoDelay: round(r.baselineNoDelay, 1) })),
      }),
    ];
  } finally {
    await env.stop();
  }
}
