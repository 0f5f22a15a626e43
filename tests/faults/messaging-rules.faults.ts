import { randomBytes } from "node:crypto";
import { sql } from "kysely";
import { OK } from "./faulty-smtp";
import { result, sleep, waitFor, type ScenarioResult } from "./fault-kit";
import { activeCampaign, addressesOf, admin, between, emailCampaign, identify, identifyAndTrigger, jobCounts, ledger, waitSettled, withMailWorld } from "./delivery-kit";
import type { FaultWorld } from "./fault-world";

/**
 * An IANA zone where it is around noon now, so the scenario's "today" (caps count per local day)
 * does not end while it runs. Etc/GMT-N is N hours east of UTC (the sign is inverted).
 */
function middayTimeZone(now: Date): string {
  const offset = Math.max(-12, Math.min(14, 12 - now.getUTCHours()));
  return offset === 0 ? "Etc/GMT" : offset > 0 ? `Etc/GMT-${offset}` : `Etc/GMT+${-offset}`;
}

/** `count` single-event POST /v1/track for one user, all at once. */
async function simultaneousTriggers(world: FaultWorld, userId: string, event: string, count: number): Promise<string[]> {
  const auth = `Basic ${Buffer.from(`${world.project.writeKey}:`).toString("base64")}`;
  return Promise.all(
    Array.from({ length: count }, () =>
      fetch(`${world.api.url}/v1/track`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: auth },
        body: JSON.stringify({ userId, event, messageId: `cap-${randomBytes(6).toString("hex")}` }),
      }).then(
        async (r) => (await r.arrayBuffer(), String(r.status)),
        (err: Error) => `network:${err.name}`,
      ),
    ),
  );
}

/** Per user (by address) and channel: messages sent, and the most sent by one campaign. */
async function sendsPerUser(world: FaultWorld) {
  const rows = await sql<{ user_id: string; channel: string; sent: number; most_per_campaign: number }>`
    SELECT user_id, channel, sum(sent)::int AS sent, max(sent)::int AS most_per_campaign
    FROM (SELECT u.user_id, m.channel, m.campaign_id, count(*) FILTER (WHERE m.status = 'sent') AS sent
          FROM messages m JOIN users u ON u.id = m.user_id
          WHERE m.project_id = ${world.project.id}
          GROUP BY u.user_id, m.channel, m.campaign_id) per_campaign
    GROUP BY user_id, channel`.execute(world.db);
  return rows.rows;
}

/**
 * 7. Daily caps (email 2, popup 1 per user) and repeat policies (once, every day) against bursts
 * of 50 simultaneous triggers for one user, twice per user, for 10 users (two at a time); four
 * email and two popup campaigns fire on the same event.
 */
export async function capsUnderConcurrency(): Promise<ScenarioResult> {
  return withMailWorld({ workers: 2 }, async (world, smtp) => {
    const CAPS = { email: 2, popup: 1 };
    await admin(world, "PUT", "/v1/messaging/settings", { timeZone: middayTimeZone(new Date()), dailyCaps: CAPS });
    for (const [name, repeat] of [["once A", { mode: "once" }], ["once B", { mode: "once" }], ["daily C", { mode: "every", days: 1 }], ["daily D", { mode: "every", days: 1 }]] as const) {
      await activeCampaign(world, emailCampaign(`Cap ${name}`, "cap_ping", [`Cap ${name}`], { repeat }));
    }
    for (const repeat of [{ mode: "once" }, { mode: "every", days: 1 }]) {
      await activeCampaign(world, { name: `Popup ${repeat.mode}`, trigger: { type: "event", event: "cap_ping" }, repeat, steps: [{ channel: "popup", content: { body: "Hello" } }] });
    }
    const addresses = addressesOf("capped", 10);
    await identify(world, addresses);
    await waitSettled(world, 30_000);
    const statuses: string[] = [];
    for (let i = 0; i < addresses.length; i += 2) {
      await Promise.all(
        addresses.slice(i, i + 2).map(async (userId) => {
          statuses.push(...(await simultaneousTriggers(world, userId, "cap_ping", 50)));
          await sleep(between(0, 500));
          statuses.push(...(await simultaneousTriggers(world, userId, "cap_ping", 50)));
        }),
      );
    }
    const settledMs = await waitSettled(world, 60_000);
    const perUser = await sendsPerUser(world);
    const ofChannel = (channel: string) => perUser.filter((r) => r.channel === channel);
    const copiesPer = addresses.map((a) => smtp.copies.filter((c) => c.to.includes(a)).length);
    const jobs = await jobCounts(world);
    return result(
      "caps-under-concurrency",
      {
        "never more emails per user than the daily cap": ofChannel("email").every((r) => r.sent <= CAPS.email) && copiesPer.every((n) => n <= CAPS.email),
        "never more popups per user than the daily cap": ofChannel("popup").every((r) => r.sent <= CAPS.popup),
        "at most one send per user and campaign (repeat policy)": perUser.every((r) => r.most_per_campaign <= 1),
        "the caps were reached (the scenario tested them)": ofChannel("email").length === addresses.length && ofChannel("email").every((r) => r.sent === CAPS.email) && ofChannel("popup").every((r) => r.sent === CAPS.popup),
        // 503 (with Retry-After) stores nothing: a client retries it; anything else would be a defect.
        "every trigger answered 200 or 503": statuses.every((s) => s === "200" || s === "503"),
        "no job stuck active": jobs.active === 0,
      },
      {
        users: addresses.length,
        triggers: statuses.length,
        answers: statuses.reduce<Record<string, number>>((n, s) => ({ ...n, [s]: (n[s] ?? 0) + 1 }), {}),
        emailsPerUser: [...new Set(ofChannel("email").map((r) => r.sent))],
        popupsPerUser: [...new Set(ofChannel("popup").map((r) => r.sent))],
        smtpCopiesPerUser: [...new Set(copiesPer)],
        settledMs,
        // Every trigger after a cap hold starts a new (held) series: a held message is no prior send.
        ledger: await ledger(world),
        jobs,
      },
    );
  });
}

const unsubscribeLink = (headers: Record<string, string>) => /<(https?:[^>]+)>/.exec(headers["list-unsubscribe"] ?? "")?.[1] ?? null;

/**
 * 8. Twenty campaigns queue twenty emails at once for each of ten users on a slow SMTP server; eight
 * users unsubscribe with the one-click POST right after their first email arrives, two have their
 * link fetched with GET (a link scanner) instead.
 */
export async function unsubscribeRace(): Promise<ScenarioResult> {
  const plan = (m: { phase: string }) => (m.phase === "end" ? { do: "ok" as const, delayMs: 300 } : OK);
  return withMailWorld({ workers: 2, plan }, async (world, smtp) => {
    const CAMPAIGNS = 20;
    for (let i = 0; i < CAMPAIGNS; i++) await activeCampaign(world, emailCampaign(`Race ${i}`, "race", [`Race ${i}`]));
    const racers = addressesOf("racer", 8);
    const scanned = addressesOf("scanned", 2);
    const firstLink = async (address: string) => {
      await waitFor(async () => smtp.copies.some((c) => c.to.includes(address)), 60_000, 20);
      return unsubscribeLink(smtp.copies.find((c) => c.to.includes(address))!.headers);
    };
    const load = identifyAndTrigger(world, [...racers, ...scanned], "race");
    const answers = racers.map(async (address) => {
      const link = await firstLink(address);
      await sleep(between(0, 300));
      const posted = Date.now();
      // RFC 8058: what a mailbox provider sends when the user clicks "unsubscribe".
      const res = await fetch(link!, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "List-Unsubscribe=One-Click" });
      await res.arrayBuffer();
      return { address, status: res.status, posted, answeredAt: Date.now(), waitedMs: Date.now() - posted };
    });
    const scans = scanned.map(async (address) => {
      const link = await firstLink(address);
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) statuses.push((await fetch(link!)).status);
      return statuses;
    });
    await load;
    const unsubscribed = await Promise.all(answers);
    const scanStatuses = (await Promise.all(scans)).flat();
    const settledMs = await waitSettled(world, 60_000);

    const after = unsubscribed.map(({ address, answeredAt }) => ({
      copies: smtp.copies.filter((c) => c.to.includes(address) && c.at > answeredAt).length,
      attempts: smtp.recipientsSeen.filter((r) => r.address === address && r.at > answeredAt).length,
    }));
    const users = await world.db.selectFrom("users").select(["user_id", "email_unsubscribed_at"]).where("project_id", "=", world.project.id).execute();
    const unsubscribedAt = new Map(users.map((u) => [u.user_id, u.email_unsubscribed_at]));
    const jobs = await jobCounts(world);
    return result(
      "unsubscribe-race",
      {
        "the one-click POST is answered 200": unsubscribed.every((u) => u.status === 200),
        "no email reaches the server after the POST was answered": after.every((a) => a.copies === 0 && a.attempts === 0),
        "the racers are unsubscribed": racers.every((a) => unsubscribedAt.get(a) != null),
        "a GET to the link changes nothing": scanStatuses.every((s) => s === 200) && scanned.every((a) => unsubscribedAt.get(a) == null) && scanned.every((a) => smtp.copies.filter((c) => c.to.includes(a)).length === CAMPAIGNS),
        "no job stuck active": jobs.active === 0,
      },
      {
        racers: racers.length,
        emailsBeforeThePost: unsubscribed.map(({ address, posted }) => smtp.copies.filter((c) => c.to.includes(address) && c.at <= posted).length),
        // Sends already queued for the user's send lock when the POST arrived still go out.
        emailsWhileThePostWaited: unsubscribed.map(({ address, posted, answeredAt }) => smtp.copies.filter((c) => c.to.includes(address) && c.at > posted && c.at <= answeredAt).length),
        emailsAfterAnswer: after.map((a) => a.copies),
        attemptsAfterAnswer: after.map((a) => a.attempts),
        postWaitedMs: unsubscribed.map((u) => u.waitedMs),
        scannedReceived: scanned.map((a) => smtp.copies.filter((c) => c.to.includes(a)).length),
        settledMs,
        ledger: await ledger(world),
        jobs,
      },
    );
  });
}
