import type { FaultWorld } from "./fault-world";
import { OK, reachedServer, type FaultySmtp } from "./faulty-smtp";
import { result, sleep, waitFor, type NurtureProcess, type ScenarioResult } from "./fault-kit";
import { activeCampaign, addressesOf, between, emailCampaign, identify, identifyAndTrigger, jobCounts, ledger, stalledJobs, tallyCopies, unknownOutcomes, waitSettled, withMailWorld } from "./delivery-kit";

const alive = (p: NurtureProcess) => p.child.exitCode === null && p.child.signalCode === null;

/** The longest-running live worker (the one most likely in the middle of sends), if any. */
const oldestLive = (world: FaultWorld) => world.workers.find(alive);

/**
 * kill -9 one of the live workers, picked at random, every 1–3 s and start a replacement at once,
 * until `stop()` or `maxMs`. A replacement joins `world.workers` once started, so a process is
 * never killed while it is still loading.
 */
async function killRepeatedly(world: FaultWorld, smtp: FaultySmtp, stop: () => boolean, maxMs: number) {
  const kills = { count: 0, duringSmtpTransaction: 0, startedAt: Date.now(), lastAt: Date.now(), copiesAtFirstKill: smtp.copies.length, copiesAtLastKill: 0 };
  const replacements: Promise<unknown>[] = [];
  const deadline = Date.now() + maxMs;
  while (!stop() && Date.now() < deadline) {
    await sleep(between(1_000, 3_000));
    const live = world.workers.filter(alive);
    const victim = live[between(0, live.length - 1)];
    if (!victim) continue;
    if (smtp.openTransactions() > 0) kills.duringSmtpTransaction++;
    victim.kill("SIGKILL");
    await victim.exited;
    kills.count++;
    kills.lastAt = Date.now();
    kills.copiesAtLastKill = smtp.copies.length;
    replacements.push(world.startWorker());
  }
  await Promise.all(replacements);
  return kills;
}

/** 1. Two workers send 2,000 emails of one campaign; one of them is killed with SIGKILL every 1–3 s and restarted. */
export async function workerKilledMidSend(): Promise<ScenarioResult> {
  return withMailWorld({ workers: 2 }, async (world, smtp) => {
    const addresses = addressesOf("killed", 2_000);
    await activeCampaign(world, emailCampaign("Welcome", "$identify", ["Exactly once"]));
    const started = Date.now();
    await identify(world, addresses);
    // Kills start once sending is under way (so they strike sends, not only the pipeline) and last
    // 50 s or until 90% went out. Under a kill every 1–3 s little gets through (each restart costs
    // seconds of CPU, a dead worker's jobs wait for their lock to expire), so the window usually
    // ends by time and the recovery after the last kill includes sending the rest.
    await waitFor(async () => smtp.copies.length >= addresses.length * 0.05, 90_000);
    const kills = await killRepeatedly(world, smtp, () => smtp.copies.length >= addresses.length * 0.9, 50_000);
    const killsEnded = Date.now();
    const settledMs = await waitSettled(world, 75_000);
    const tally = tallyCopies(addresses, smtp.copies);
    const jobs = await jobCounts(world);
    const statuses = await ledger(world);
    // A worker killed after recording a hand-over and before its final "." went out leaves a
    // message nobody received, on record as "outcome unknown"; killed after the ".", the recipient
    // has it and the record says the same. Never a second copy.
    const unknown = await unknownOutcomes(world);
    const received = new Set(smtp.copies.filter(reachedServer).flatMap((c) => c.to));
    const lostUnrecorded = addresses.filter((a) => !received.has(a) && !unknown.has(a)).length;
    return result(
      "worker-killed-mid-send",
      {
        "no recipient gets a second copy": tally.duplicateCopies === 0 && tally.twoMessages === 0,
        "every message is delivered or on record as outcome unknown": lostUnrecorded === 0 && (statuses.sent ?? 0) + unknown.size === addresses.length,
        "no job stuck active": jobs.active === 0,
      },
      {
        ...tally,
        outcomeUnknown: unknown.size,
        outcomeUnknownButReceived: [...unknown].filter((a) => received.has(a)).length,
        lostUnrecorded,
        kills: kills.count,
        // Sampled just before each kill over all workers.
        killsDuringSmtpTransaction: kills.duringSmtpTransaction,
        sendsCutOff: smtp.cutOff(),
        // From the last kill until everything is sent and settled: the dead worker's jobs handed on,
        // plus the rest of the campaign still to send then (copiesAtLastKill of the recipients).
        recoveryMs: settledMs < 0 ? -1 : killsEnded + settledMs - kills.lastAt,
        killWindowMs: kills.lastAt - kills.startedAt,
        copiesAtFirstKill: kills.copiesAtFirstKill,
        copiesAtLastKill: kills.copiesAtLastKill,
        totalMs: Date.now() - started,
        ledger: statuses,
        jobs,
        stalledJobs: await stalledJobs(world),
      },
    );
  });
}

/** 9. A slow SMTP server keeps sends in flight while both workers are restarted with SIGTERM, one after the other. */
export async function gracefulShutdown(): Promise<ScenarioResult> {
  const plan = (m: { phase: string }) => (m.phase === "end" ? { do: "ok" as const, delayMs: 1_500 } : OK);
  return withMailWorld({ workers: 2, plan }, async (world, smtp) => {
    const addresses = addressesOf("graceful", 120);
    await activeCampaign(world, emailCampaign("Deploy", "deploy_test", ["Sent during a deploy"]));
    await identifyAndTrigger(world, addresses, "deploy_test");
    const stops: { sendsInFlight: number; exitMs: number; code: number | null | "hung" }[] = [];
    for (let round = 0; round < 2; round++) {
      await waitFor(async () => smtp.openTransactions() >= 3, 60_000);
      const victim = oldestLive(world)!;
      const sendsInFlight = smtp.openTransactions();
      const t0 = Date.now();
      victim.kill("SIGTERM");
      const code = await Promise.race([victim.exited, sleep(40_000).then(() => "hung" as const)]);
      stops.push({ sendsInFlight, exitMs: Date.now() - t0, code });
      if (code === "hung") victim.kill("SIGKILL");
      // A rolling deploy: the new process replaces the stopped one.
      await world.startWorker();
    }
    const settledMs = await waitSettled(world, 60_000);
    const tally = tallyCopies(addresses, smtp.copies);
    const jobs = await jobCounts(world);
    const stalled = await stalledJobs(world);
    return result(
      "graceful-shutdown",
      {
        "each worker exited by itself, cleanly, within 30 s": stops.every((s) => s.code === 0 && s.exitMs <= 30_000),
        "every recipient got exactly one copy": tally.lost === 0 && tally.duplicateCopies === 0,
        "no stalled job": stalled === 0,
        "no job stuck active": jobs.active === 0,
      },
      { ...tally, stops, sendsCutOff: smtp.cutOff(), settledMs, ledger: await ledger(world), jobs, stalledJobs: stalled },
    );
  });
}
