import { QUEUE_NAMES } from "@nurture/jobs";
import { sql } from "kysely";
import { startWorld, type FaultWorld } from "./fault-world";
import { reachedServer, startFaultySmtp, type FaultySmtp, type SmtpCopy, type SmtpFaultPlan } from "./faulty-smtp";
import { waitFor } from "./fault-kit";

/** A world whose workers send email to a faulty SMTP server of the scenario's own. */
export async function withMailWorld<T>(
  options: { workers?: number; env?: Record<string, string>; plan?: SmtpFaultPlan },
  run: (world: FaultWorld, smtp: FaultySmtp) => Promise<T>,
): Promise<T> {
  const smtp = await startFaultySmtp(options.plan);
  try {
    const world = await startWorld({ workers: options.workers ?? 2, env: { SMTP_URL: smtp.url, ...options.env } });
    try {
      return await run(world, smtp);
    } finally {
      await world.close();
    }
  } finally {
    await smtp.close();
  }
}

/** A call to the admin API with the project's secret key; a non-2xx answer throws. */
export async function admin<T = unknown>(world: FaultWorld, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${world.api.url}${path}`, {
    method,
    headers: { "content-type": "application/json", authorization: `Bearer ${world.project.secretKey}` },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** Creates a campaign and activates it; its id. */
export async function activeCampaign(world: FaultWorld, definition: Record<string, unknown>): Promise<string> {
  const { id } = await admin<{ id: string }>(world, "POST", "/v1/campaigns", definition);
  await admin(world, "POST", `/v1/campaigns/${id}/status`, { status: "active" });
  return id;
}

/** A campaign of email steps (no delay), each with its own subject, fired by `event`. */
export function emailCampaign(name: string, event: string, subjects: string[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, trigger: { type: "event", event }, steps: subjects.map((subject) => ({ channel: "email", content: { subject, html: `<p>${subject}, {{ user.name }}</p>` } })), ...extra };
}

export const addressesOf = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}@faults.test`);

/** POST /v1/batch with the write key; a non-200 answer throws. */
async function batch(world: FaultWorld, messages: unknown[]): Promise<void> {
  const res = await fetch(`${world.api.url}/v1/batch`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Basic ${Buffer.from(`${world.project.writeKey}:`).toString("base64")}` },
    body: JSON.stringify({ batch: messages }),
  });
  if (res.status !== 200) throw new Error(`batch answered ${res.status}: ${await res.text()}`);
}

/** `messagesOf(address)` for every address, in batches of 50 addresses, four batches at a time. */
async function perAddress(world: FaultWorld, addresses: string[], messagesOf: (address: string) => unknown[]): Promise<void> {
  const PER_BATCH = 50;
  const chunks = Array.from({ length: Math.ceil(addresses.length / PER_BATCH) }, (_, i) => addresses.slice(i * PER_BATCH, (i + 1) * PER_BATCH));
  for (let i = 0; i < chunks.length; i += 4) await Promise.all(chunks.slice(i, i + 4).map((chunk) => batch(world, chunk.flatMap(messagesOf))));
}

const identifyMessage = (address: string) => ({ type: "identify", userId: address, traits: { email: address, name: "Fault" } });

/**
 * Each address becomes a known user (userId = the address) with that email. A campaign triggered
 * by `$identify` (a welcome email) fires on this alone: half the pipeline work of identify + track.
 */
export const identify = (world: FaultWorld, addresses: string[]) => perAddress(world, addresses, (a) => [identifyMessage(a)]);

/** identify, then `event` by the same user in the same batch. */
export const identifyAndTrigger = (world: FaultWorld, addresses: string[], event: string) =>
  perAddress(world, addresses, (a) => [identifyMessage(a), { type: "track", userId: a, event }]);

/** One event per address (the users exist already). */
export const trigger = (world: FaultWorld, addresses: string[], event: string) => perAddress(world, addresses, (userId) => [{ type: "track", userId, event }]);

/** Ledger rows per status for the project. */
export async function ledger(world: FaultWorld): Promise<Record<string, number>> {
  const rows = await world.db.selectFrom("messages").select(["status", (eb) => eb.fn.countAll<number>().as("n")]).where("project_id", "=", world.project.id).groupBy("status").execute();
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

/** Addresses whose message is on record with an unknown outcome (handed over; the reply never recorded). */
export async function unknownOutcomes(world: FaultWorld): Promise<Set<string>> {
  const rows = await sql<{ email: string }>`
    SELECT u.properties->>'email' AS email FROM messages m JOIN users u ON u.id = m.user_id
    WHERE m.project_id = ${world.project.id} AND m.status = 'failed' AND m.reason LIKE 'outcome unknown%'`.execute(world.db);
  return new Set(rows.rows.map((r) => r.email));
}

/** Jobs per state, summed over every queue of the catalog (whatever queues the worker runs). */
export async function jobCounts(world: FaultWorld): Promise<{ active: number; waiting: number; delayed: number; failed: number; activeByQueue: Record<string, number> }> {
  const totals = { active: 0, waiting: 0, delayed: 0, failed: 0, activeByQueue: {} as Record<string, number> };
  for (const name of QUEUE_NAMES) {
    const c = await world.queues.get(name).getJobCounts("active", "waiting", "prioritized", "delayed", "failed");
    totals.active += c.active ?? 0;
    totals.waiting += (c.waiting ?? 0) + (c.prioritized ?? 0);
    totals.delayed += c.delayed ?? 0;
    totals.failed += c.failed ?? 0;
    if (c.active) totals.activeByQueue[name] = c.active;
  }
  return totals;
}

/** Jobs of every queue that BullMQ's stalled check ever moved back (their worker stopped renewing the lock). */
export async function stalledJobs(world: FaultWorld): Promise<number> {
  let stalled = 0;
  for (const name of QUEUE_NAMES) {
    const jobs = await world.queues.get(name).getJobs(["completed", "failed", "active", "waiting", "delayed", "prioritized"], 0, -1);
    stalled += jobs.filter((j) => j && j.stalledCounter > 0).length;
  }
  return stalled;
}

/** Nothing left to do: no message queued or sending, no unprocessed event, no job active or waiting. */
export async function settled(world: FaultWorld): Promise<boolean> {
  const open = await sql<{ n: number }>`
    SELECT (SELECT count(*) FROM messages WHERE project_id = ${world.project.id} AND status IN ('queued', 'sending'))
         + (SELECT count(*) FROM events WHERE processed_at IS NULL) AS n`.execute(world.db);
  if (Number(open.rows[0]!.n) > 0) return false;
  const jobs = await jobCounts(world);
  return jobs.active === 0 && jobs.waiting === 0;
}

/** Waits (bounded) until `settled`, then a quiet moment in which a late duplicate would show; ms waited or -1. */
export async function waitSettled(world: FaultWorld, timeoutMs: number): Promise<number> {
  const ms = await waitFor(() => settled(world), timeoutMs, 250).catch(() => -1);
  if (ms >= 0) await new Promise((r) => setTimeout(r, 1_500));
  return ms;
}

export interface CopyTally {
  recipients: number;
  /** Recipients with at least one copy at the server. */
  received: number;
  lost: number;
  /** Copies beyond the first, over all recipients (the same Message-ID resent counts too). */
  duplicateCopies: number;
  /** Recipients holding two different messages (two Message-IDs): a second send, not a resend. */
  twoMessages: number;
}

/** What reached the server (accepted, or complete when the reply was lost), per expected recipient. */
export function tallyCopies(expected: string[], copies: SmtpCopy[], only: (c: SmtpCopy) => boolean = () => true): CopyTally {
  const byRecipient = new Map<string, SmtpCopy[]>();
  for (const copy of copies.filter((c) => reachedServer(c) && only(c))) {
    for (const to of copy.to) byRecipient.set(to, [...(byRecipient.get(to) ?? []), copy]);
  }
  let received = 0;
  let duplicateCopies = 0;
  let twoMessages = 0;
  for (const address of expected) {
    const got = byRecipient.get(address) ?? [];
    if (got.length > 0) received++;
    duplicateCopies += Math.max(0, got.length - 1);
    if (new Set(got.map((c) => c.messageId)).size > 1) twoMessages++;
  }
  return { recipients: expected.length, received, lost: expected.length - received, duplicateCopies, twoMessages };
}

/** Random integer in [min, max]. */
export const between = (min: number, max: number) => min + Math.floor(Math.random() * (max - min + 1));
