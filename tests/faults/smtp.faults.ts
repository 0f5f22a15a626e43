import { OK, reachedServer, type SmtpCopy, type SmtpFaultPlan } from "./faulty-smtp";
import { result, type ScenarioResult } from "./fault-kit";
import { activeCampaign, addressesOf, emailCampaign, identify, jobCounts, ledger, trigger, waitSettled, withMailWorld } from "./delivery-kit";
import type { FaultWorld } from "./fault-world";

/** The ledger message a copy carries: `<nurture.<messageId>.<projectId>@host>`. */
const ledgerIdOf = (copy: SmtpCopy) => Number(/^<nurture\.(\d+)\./.exec(copy.messageId ?? "")?.[1] ?? NaN);
const indexOf = (address: string) => Number(/-(\d+)@/.exec(address)?.[1] ?? -1);

/** Copies that reached the server, per "<recipient> <subject>" (one campaign step for one recipient). */
function perStep(copies: SmtpCopy[]): Map<string, SmtpCopy[]> {
  const steps = new Map<string, SmtpCopy[]>();
  for (const copy of copies.filter(reachedServer)) {
    for (const to of copy.to) {
      const key = `${to} ${copy.headers.subject ?? ""}`;
      steps.set(key, [...(steps.get(key) ?? []), copy]);
    }
  }
  return steps;
}

async function statusesOf(world: FaultWorld, ids: number[]): Promise<Map<number, string>> {
  if (ids.length === 0) return new Map();
  const rows = await world.db.selectFrom("messages").select(["id", "status"]).where("id", "in", ids).execute();
  return new Map(rows.map((r) => [Number(r.id), r.status]));
}

async function suppressed(world: FaultWorld): Promise<Set<string>> {
  const rows = await world.db.selectFrom("email_suppressions").select("address").where("project_id", "=", world.project.id).execute();
  return new Set(rows.map((r) => r.address));
}

/**
 * 2. For a share of sends the server reads the whole message and then drops the connection without
 * a reply (or never replies); other sends lose the connection earlier (before the greeting, at
 * RCPT, at DATA). Two-step campaign, 300 recipients; each fault strikes a recipient's first attempt.
 */
export async function smtpAcceptanceLost(): Promise<ScenarioResult> {
  const plan: SmtpFaultPlan = (m) => {
    if (m.phase === "connect") return m.connection % 10 === 0 ? { do: "drop" } : OK;
    const i = indexOf(m.recipients[0] ?? "");
    if (m.seen > 0 || i < 0) return OK;
    if (m.phase === "end" && i % 10 === 0) return { do: "drop" };
    if (m.phase === "end" && i % 50 === 3) return { do: "stall" };
    if (m.phase === "rcpt" && i % 10 === 1) return { do: "drop" };
    if (m.phase === "data" && i % 10 === 2) return { do: "drop" };
    return OK;
  };
  // Stalled sends hold a pooled connection until the socket timeout; a larger pool keeps the rest moving.
  return withMailWorld({ workers: 2, plan, env: { SMTP_POOL_SIZE: "8" } }, async (world, smtp) => {
    const addresses = addressesOf("lost", 300);
    await activeCampaign(world, emailCampaign("Two steps", "$identify", ["Step one", "Step two"]));
    await identify(world, addresses);
    const settledMs = await waitSettled(world, 80_000);
    const steps = perStep(smtp.copies);
    const unanswered = smtp.copies.filter((c) => c.outcome === "dropped" || c.outcome === "stalled");
    const unansweredStatus = await statusesOf(world, unanswered.map(ledgerIdOf));
    const once = (address: string, subject: string) => (steps.get(`${address} ${subject}`) ?? []).filter((c) => c.outcome === "accepted").length === 1;
    const retriedGroup = addresses.filter((a) => indexOf(a) % 10 === 1 || indexOf(a) % 10 === 2);
    const jobs = await jobCounts(world);
    return result(
      "smtp-acceptance-lost",
      {
        "no recipient has a campaign step twice": [...steps.values()].every((copies) => copies.length === 1),
        "every unanswered send is recorded failed, not resent": unanswered.every((c) => unansweredStatus.get(ledgerIdOf(c)) === "failed"),
        "no address suppressed for a lost reply": (await suppressed(world)).size === 0,
        "drops before the data was handed over are retried and delivered once": retriedGroup.every((a) => once(a, "Step one")),
        "the series goes on: every recipient has step two once": addresses.every((a) => once(a, "Step two")),
        "no job stuck active": jobs.active === 0,
      },
      {
        recipients: addresses.length,
        copies: smtp.copies.length,
        accepted: smtp.copies.filter((c) => c.outcome === "accepted").length,
        acceptanceLost: unanswered.filter((c) => c.outcome === "dropped").length,
        replyNeverCame: unanswered.filter((c) => c.outcome === "stalled").length,
        duplicateSteps: [...steps.values()].filter((copies) => copies.length > 1).length,
        possibleLosses: [...unansweredStatus.values()].filter((s) => s === "failed").length,
        faults: smtp.faults,
        settledMs,
        ledger: await ledger(world),
        jobs,
      },
    );
  });
}

/** Times of each recipient's attempts: RCPT TO for refusals at RCPT, complete data for refusals after it. */
function attemptTimes(address: string, smtpSeen: { address: string; at: number }[], copies: SmtpCopy[], atData: boolean): number[] {
  return atData ? copies.filter((c) => c.to.includes(address)).map((c) => c.at) : smtpSeen.filter((r) => r.address === address).map((r) => r.at);
}

const gaps = (times: number[]) => times.slice(1).map((t, i) => t - times[i]!);

/**
 * 3. 451 at RCPT or after the data for the first two attempts (then accepted), 550 at RCPT (a hard
 * bounce) and 554 after the data for every attempt; then a second campaign goes to everyone.
 */
export async function smtpTemporaryAndPermanentErrors(): Promise<ScenarioResult> {
  const groups = { tempRcpt: addressesOf("temp-rcpt", 20), tempData: addressesOf("temp-data", 10), bounce: addressesOf("bounce", 15), reject: addressesOf("reject", 10), ok: addressesOf("ok", 20) };
  const plan: SmtpFaultPlan = (m) => {
    const to = m.recipients[0] ?? "";
    if (m.phase === "rcpt" && to.startsWith("temp-rcpt") && m.seen < 2) return { do: "reply", code: 451, text: "4.7.1 greylisted, try again later" };
    if (m.phase === "end" && to.startsWith("temp-data") && m.seen < 2) return { do: "reply", code: 451, text: "4.3.0 temporary failure" };
    if (m.phase === "rcpt" && to.startsWith("bounce")) return { do: "reply", code: 550, text: "5.1.1 no such user" };
    if (m.phase === "end" && to.startsWith("reject")) return { do: "reply", code: 554, text: "5.7.1 message refused" };
    return OK;
  };
  return withMailWorld({ workers: 2, plan }, async (world, smtp) => {
    const everyone = Object.values(groups).flat();
    await activeCampaign(world, emailCampaign("Wave one", "$identify", ["Wave one"]));
    await activeCampaign(world, emailCampaign("Wave two", "wave_two", ["Wave two"]));
    await identify(world, everyone);
    const firstSettledMs = await waitSettled(world, 60_000);
    const waveOneCopies = [...smtp.copies];
    const waveOneSeen = [...smtp.recipientsSeen];
    const suppressedAfterWaveOne = await suppressed(world);
    const waveOneLedger = await world.db
      .selectFrom("messages")
      .innerJoin("campaigns", "campaigns.id", "messages.campaign_id")
      .select(["messages.recipient", "messages.status"])
      .where("campaigns.name", "=", "Wave one")
      .execute();
    const waveOneStatus = new Map(waveOneLedger.map((r) => [r.recipient, r.status]));
    await trigger(world, everyone, "wave_two");
    const secondSettledMs = await waitSettled(world, 45_000);

    const accepted = (address: string, subject: string) => smtp.copies.filter((c) => c.to.includes(address) && c.outcome === "accepted" && c.headers.subject === subject).length;
    const temp = [...groups.tempRcpt.map((a) => attemptTimes(a, waveOneSeen, [], false)), ...groups.tempData.map((a) => attemptTimes(a, [], waveOneCopies, true))];
    const tempGaps = temp.flatMap(gaps);
    const jobs = await jobCounts(world);
    return result(
      "smtp-temporary-and-permanent-errors",
      {
        "4xx is retried until delivered, once": [...groups.tempRcpt, ...groups.tempData].every((a) => accepted(a, "Wave one") === 1),
        "4xx retries back off (≥ 1 s between attempts)": temp.every((t) => t.length === 3) && tempGaps.every((g) => g >= 1_000),
        "5xx is not retried": groups.bounce.every((a) => waveOneSeen.filter((r) => r.address === a).length === 1) && groups.reject.every((a) => waveOneCopies.filter((c) => c.to.includes(a)).length === 1),
        "5xx marks the message failed": [...groups.bounce, ...groups.reject].every((a) => waveOneStatus.get(a) === "failed"),
        "a hard bounce suppresses the address, a 554 after the data does not": groups.bounce.every((a) => suppressedAfterWaveOne.has(a)) && groups.reject.every((a) => !suppressedAfterWaveOne.has(a)),
        "zero sends to a suppressed address": groups.bounce.every((a) => smtp.recipientsSeen.filter((r) => r.address === a).length === 1),
        "everyone else gets both waves once": [...groups.ok, ...groups.tempRcpt, ...groups.tempData].every((a) => accepted(a, "Wave one") === 1 && accepted(a, "Wave two") === 1),
        "no job stuck active": jobs.active === 0,
      },
      {
        recipients: Object.fromEntries(Object.entries(groups).map(([k, v]) => [k, v.length])),
        tempAttempts: temp.map((t) => t.length).reduce((a, b) => a + b, 0),
        minRetryGapMs: tempGaps.length ? Math.min(...tempGaps) : null,
        maxRetryGapMs: tempGaps.length ? Math.max(...tempGaps) : null,
        suppressed: suppressedAfterWaveOne.size,
        sendsToSuppressedAfterBounce: groups.bounce.reduce((n, a) => n + smtp.recipientsSeen.filter((r) => r.address === a).length - 1, 0),
        faults: smtp.faults,
        settledMs: [firstSettledMs, secondSettledMs],
        ledger: await ledger(world),
        jobs,
      },
    );
  });
}
