import { randomUUID } from "node:crypto";
import { createProject, createSegment, recordPendingEntries } from "@nurture/backend";
import { counterKey, DAY_MS, dayKeyOfEpochDay, epochDay, evaluateCondition, evaluateConditionTimed, requiredCounters, utcDayKey, type Condition, type EventCounter, type UserCard } from "@nurture/core";
import { createTestDatabase } from "@nurture/db/testing";
import { createQueues, QUEUE_NAMES } from "@nurture/jobs";
import { sql } from "kysely";
import { pino } from "pino";
import { alternate, BENCH_REDIS_URL, line, median, round, type BenchLine } from "./bench-kit";

const NOW = new Date("2026-06-01T12:00:00Z");
const NOW_MS = NOW.getTime();

// ---- segment-eval ----

/** A segment template: the condition a marketer saves, and the same test written by hand in TypeScript. */
interface Template {
  condition: (i: number) => Condition;
  byHand: (i: number) => (card: UserCard, nowMs: number) => boolean;
}

const stat = (card: UserCard, event: string) => card.eventStats[event];
const windowSum = (counter: EventCounter | undefined, days: number, nowMs: number) => {
  if (!counter) return 0;
  const today = epochDay(nowMs);
  const low = dayKeyOfEpochDay(today - days);
  const high = dayKeyOfEpochDay(today);
  let n = 0;
  for (const k in counter.daily) if (k > low && k <= high) n += counter.daily[k]!;
  return n;
};
const PLANS = ["free", "pro", "team", "enterprise"];
const COUNTRIES = ["DE", "FR", "US", "GB", "ES", "IT", "NL", "PL", "SE", "BR"];

const TEMPLATES: Template[] = [
  {
    condition: (i) => ({ and: [{ property: "plan", op: "in", values: [PLANS[i % 4]!, PLANS[(i + 1) % 4]!] }, { event: "order_paid", count: { op: "gte", value: 1 + (i % 4) } }] }),
    byHand: (i) => {
      const plans = [PLANS[i % 4], PLANS[(i + 1) % 4]];
      return (c) => plans.includes(c.properties.plan as string) && (stat(c, "order_paid")?.count ?? 0) >= 1 + (i % 4);
    },
  },
  {
    condition: (i) => ({ and: [{ event: "checkout_started", count: { op: "gte", value: 1 }, withinDays: 3 + (i % 5) }, { event: "order_paid", happened: false }] }),
    byHand: (i) => {
      const key = counterKey("checkout_started");
      return (c, now) => windowSum(c.counters[key], 3 + (i % 5), now) >= 1 && !stat(c, "order_paid");
    },
  },
  {
    condition: (i) => ({ not: { event: "$session_start", last: { op: "within_last_days", days: 7 + i } } }),
    byHand: (i) => (c, now) => {
      const last = stat(c, "$session_start")?.lastAt.getTime();
      return !(last !== undefined && last >= now - (7 + i) * DAY_MS && last <= now);
    },
  },
  {
    condition: (i) => ({ event: "order_paid", where: [{ property: "amount", op: "gte", value: 50 * (1 + (i % 5)) }], count: { op: "gte", value: 2 } }),
    byHand: (i) => {
      const key = counterKey("order_paid", [{ property: "amount", op: "gte", value: 50 * (1 + (i % 5)) }]);
      return (c) => (c.counters[key]?.total ?? 0) >= 2;
    },
  },
  {
    condition: (i) => ({ and: [{ property: "country", op: "eq", value: COUNTRIES[i % 10]! }, { emailKnown: true }, { emailUnsubscribed: false }] }),
    byHand: (i) => (c) => {
      const email = c.properties.email;
      return c.properties.country === COUNTRIES[i % 10] && typeof email === "string" && email.includes("@") && !c.emailUnsubscribed;
    },
  },
  {
    condition: (i) => ({ or: [{ score: { op: "gte", value: 20 + 5 * i } }, { grade: { op: "in", values: ["A", "B"] } }] }),
    byHand: (i) => (c) => c.score >= 20 + 5 * i || c.grade === "A" || c.grade === "B",
  },
  {
    condition: (i) => ({ and: [{ lifecycleStage: { op: "in", values: ["engaged", "power"] } }, { event: "$page", count: { op: "gte", value: 3 + i }, withinDays: 14 }] }),
    byHand: (i) => {
      const key = counterKey("$page");
      return (c, now) => (c.lifecycleStage === "engaged" || c.lifecycleStage === "power") && windowSum(c.counters[key], 14, now) >= 3 + i;
    },
  },
  {
    condition: (i) => ({ or: [{ property: "tags", op: "contains", value: `tag${i}` }, { property: "company.size", op: "gt", value: 50 * (i + 1) }] }),
    byHand: (i) => (c) => {
      const tags = c.properties.tags;
      const company = c.properties.company as { size?: unknown } | undefined;
      return (Array.isArray(tags) && tags.includes(`tag${i}`)) || (typeof company?.size === "number" && company.size > 50 * (i + 1));
    },
  },
  {
    condition: (i) => ({ and: [{ firstSeen: { op: "within_last_days", days: 10 + 5 * i } }, { identified: true }] }),
    byHand: (i) => (c, now) => {
      const t = c.firstSeenAt.getTime();
      return t >= now - (10 + 5 * i) * DAY_MS && t <= now && c.userId !== null;
    },
  },
  {
    condition: (i) => ({ and: [{ segment: `seg-${i}` }, { property: "trial_ends", op: "within_next_days", days: 3 + i }] }),
    byHand: (i) => (c, now) => {
      if (!c.segmentIds.includes(`seg-${i}`)) return false;
      const v = c.properties.trial_ends;
      const t = typeof v === "string" ? Date.parse(v) : NaN;
      return t >= now && t <= now + (3 + i) * DAY_MS;
    },
  },
];

function realisticCard(seed: number, segments: Condition[]): UserCard {
  const rnd = (n: number) => ((seed * 2_654_435_761 + n * 40_503) >>> 0) % 1000;
  const events: { name: string; props: Record<string, unknown>; at: Date }[] = [];
  const names = ["$page", "$session_start", "checkout_started", "order_paid", "product_viewed", "search", "signup", "video_played"];
  for (let i = 0; i < 60; i++) {
    events.push({ name: names[rnd(i) % names.length]!, props: { amount: rnd(i + 100) / 2, path: `/p/${i % 7}` }, at: new Date(NOW_MS - (rnd(i + 200) / 1000) * 45 * DAY_MS) });
  }
  const eventStats: UserCard["eventStats"] = {};
  for (const e of events) {
    const s = (eventStats[e.name] ??= { count: 0, firstAt: e.at, lastAt: e.at });
    s.count += 1;
    if (e.at < s.firstAt) s.firstAt = e.at;
    if (e.at > s.lastAt) s.lastAt = e.at;
  }
  for (let i = 0; i < 12; i++) eventStats[`other_${i}`] = { count: 1 + i, firstAt: new Date(NOW_MS - 90 * DAY_MS), lastAt: new Date(NOW_MS - i * DAY_MS) };
  const counters: UserCard["counters"] = {};
  for (const def of segments.flatMap(requiredCounters)) {
    const c: EventCounter = { total: 0, firstAt: null, lastAt: null, daily: {} };
    for (const e of events) {
      if (e.name !== def.event) continue;
      if (def.where && !def.where.every((f) => f.op === "gte" && typeof e.props[f.property] === "number" && (e.props[f.property] as number) >= (f.value as number))) continue;
      c.total += 1;
      const day = utcDayKey(e.at);
      c.daily[day] = (c.daily[day] ?? 0) + 1;
    }
    counters[def.key] = c;
  }
  const properties: Record<string, unknown> = {
    plan: PLANS[rnd(1) % 4],
    country: COUNTRIES[rnd(2) % 10],
    email: rnd(3) % 10 === 0 ? null : `user${seed}@example.com`,
    tags: [`tag${rnd(4) % 10}`, `tag${rnd(5) % 10}`],
    company: { name: "Acme", size: rnd(6) },
    trial_ends: new Date(NOW_MS + (rnd(7) - 500) * 3_600_000).toISOString(),
  };
  for (let i = 0; i < 24; i++) properties[`trait_${i}`] = i % 2 ? `value ${i}` : i;
  return {
    id: seed,
    userId: rnd(8) % 5 === 0 ? null : `u${seed}`,
    properties,
    firstSeenAt: new Date(NOW_MS - rnd(9) * 3_600_000),
    lastSeenAt: new Date(NOW_MS - rnd(10) * 60_000),
    eventStats,
    counters,
    score: rnd(11) % 120,
    grade: ["A", "B", "C", null][rnd(12) % 4] ?? null,
    valueClass: null,
    lifecycleStage: (["new", "novice", "engaged", "power"] as const)[rnd(13) % 4]!,
    segmentIds: [`seg-${rnd(14) % 10}`, `seg-${rnd(15) % 10}`],
    emailUnsubscribed: rnd(16) % 20 === 0,
  };
}

/**
 * segment-eval: one card against 100 realistic segments (10 kinds × 10 parameterisations: plans and
 * order counts, abandoned checkouts in a window, inactivity, filtered order counts, country + email,
 * score or grade, stage + windowed page views, tags or company size, recent sign-up, segment + trial
 * ending soon), µs per card. Baseline: the same 100 tests written by hand as TypeScript closures.
 */
export async function benchSegmentEval(): Promise<BenchLine[]> {
  const segments = TEMPLATES.flatMap((t) => Array.from({ length: 10 }, (_, i) => t.condition(i)));
  const byHand = TEMPLATES.flatMap((t) => Array.from({ length: 10 }, (_, i) => t.byHand(i)));
  const cards = Array.from({ length: 200 }, (_, i) => realisticCard(i + 1, segments));
  // Both must say the same, or the comparison means nothing.
  let agree = 0;
  for (const card of cards) segments.forEach((s, j) => (agree += Number(evaluateCondition(s, card, NOW) === byHand[j]!(card, NOW_MS))));
  if (agree !== cards.length * segments.length) throw new Error(`hand-written baseline disagrees on ${cards.length * segments.length - agree} answers`);

  const REPEAT = 25;
  let sink = 0;
  const time = (evaluate: (card: UserCard) => number) => async () => {
    const started = performance.now();
    for (let r = 0; r < REPEAT; r++) for (const card of cards) sink += evaluate(card);
    return ((performance.now() - started) * 1000) / (REPEAT * cards.length);
  };
  const ours = time((card) => {
    let n = 0;
    for (const s of segments) if (evaluateCondition(s, card, NOW)) n++;
    return n;
  });
  const baseline = time((card) => {
    let n = 0;
    for (const f of byHand) if (f(card, NOW_MS)) n++;
    return n;
  });
  // What the pipeline runs: the answer and the instant it can next change, for every segment.
  const timed = time((card) => {
    let n = 0;
    for (const s of segments) if (evaluateConditionTimed(s, card, NOW).matches) n++;
    return n;
  });
  await ours();
  await baseline();
  const result = await alternate(9, baseline, ours);
  const withNextChange = median([await timed(), await timed(), await timed()]);
  return [
    line("segment-eval", result.ours, result.baseline, "µs/card", {
      segments: segments.length,
      target: "< 50 µs",
      withNextChangeUs: round(withNextChange),
      samples: result.samples,
      checksum: sink % 997,
    }),
  ];
}

// ---- segment-backfill ----

const USERS = Number(process.env.BENCH_SEGMENT_USERS ?? 1_000_000);
const EVENTS = ["$session_start", "$page", "order_paid", "product_viewed", "checkout_started", "search"];

/** The segment both sides compute: engaged paying users we can email. */
const BACKFILL_CONDITION: Condition = {
  and: [
    { property: "plan", op: "in", values: ["pro", "team"] },
    { event: "order_paid", count: { op: "gte", value: 2 } },
    { event: "$session_start", last: { op: "within_last_days", days: 30 } },
    { emailKnown: true },
    { emailUnsubscribed: false },
  ],
};

/**
 * segment-backfill: creating that segment over 1,000,000 users with realistic event statistics
 * (6 event kinds, ~3.6 statistics rows per user, skewed counts, recency over 90 days) through the
 * segments service — validation, the rebuild lock, the counters it needs, membership written set-based
 * — ÷ one hand-written `INSERT … SELECT … ON CONFLICT` computing the same membership. Alternating runs,
 * medians. The `$segment_entered` timeline rows are written afterwards in the background; their time
 * is reported as `timelineMs` (not part of the ratio).
 */
export async function benchSegmentBackfill(): Promise<BenchLine[]> {
  const testDb = await createTestDatabase();
  const { db } = testDb;
  const queues = createQueues({ redisUrl: BENCH_REDIS_URL, prefix: `bench-seg-${randomUUID().slice(0, 8)}` });
  const log = pino({ level: "silent" });
  try {
    const project = await createProject(db, "bench-segments");
    const p = project.id;
    await sql`SELECT setseed(0.17)`.execute(db);
    await sql`
      INSERT INTO users (project_id, user_id, properties, first_seen_at, last_seen_at, score, email_unsubscribed_at)
      SELECT ${p}, 'u' || g,
             jsonb_build_object('plan', (ARRAY['free','free','pro','team'])[1 + floor(random() * 4)::int],
                                'email', CASE WHEN random() < 0.85 THEN 'u' || g || '@example.com' END,
                                'country', (ARRAY['DE','FR','US','GB','ES'])[1 + floor(random() * 5)::int], 'age', 18 + floor(random() * 60)::int),
             ${NOW}::timestamptz - random() * interval '400 days', ${NOW}::timestamptz - power(random(), 2) * interval '90 days',
             floor(random() * 100)::int, CASE WHEN random() < 0.05 THEN ${NOW}::timestamptz END
      FROM generate_series(1, ${USERS}) g`.execute(db);
    // Bulk set-up only: foreign-key triggers off while loading the statistics.
    await db.connection().execute(async (conn) => {
      await sql`SET session_replication_role = replica`.execute(conn);
      await sql`
        INSERT INTO event_stats (project_id, user_id, event_name, count, first_at, last_at)
        SELECT ${p}, u.id, e.name, 1 + floor(power(random(), 3) * 40)::int, u.first_seen_at, greatest(u.first_seen_at, u.last_seen_at - random() * interval '20 days')
        FROM users u CROSS JOIN unnest(${EVENTS}::text[]) WITH ORDINALITY AS e(name, i)
        -- "0 * u.id" keeps the draw per (user, event): alone it would be pushed down and drawn once per event.
        WHERE u.project_id = ${p} AND random() + 0 * u.id < (0.9 - e.i * 0.1)`.execute(conn);
      await sql`SET session_replication_role = DEFAULT`.execute(conn);
    });
    await sql`VACUUM ANALYZE users`.execute(db);
    await sql`VACUUM ANALYZE event_stats`.execute(db);

    const clean = async () => {
      await sql`TRUNCATE segment_members`.execute(db);
      await sql`DELETE FROM segment_tasks`.execute(db);
      await sql`DELETE FROM segments`.execute(db);
    };
    let members = 0;
    let timelineMs = 0;
    const ours = async () => {
      await clean();
      const started = performance.now();
      const segment = await createSegment({ db, queues, log }, p, { name: `bench ${randomUUID()}`, condition: BACKFILL_CONDITION }, NOW);
      const ms = performance.now() - started;
      members = segment.members;
      const t = performance.now();
      await recordPendingEntries(db, p, segment.id);
      timelineMs = performance.now() - t;
      await sql`DELETE FROM events WHERE project_id = ${p} AND name = '$segment_entered'`.execute(db);
      return ms;
    };
    let baselineMembers = 0;
    const baseline = async () => {
      await clean();
      const seg = await db.insertInto("segments").values({ project_id: p, name: "hand-written", condition: JSON.stringify(BACKFILL_CONDITION) }).returning("id").executeTakeFirstOrThrow();
      const started = performance.now();
      const r = await sql`
        INSERT INTO segment_members (segment_id, user_id, project_id, entered_at)
        SELECT ${seg.id}::uuid, u.id, u.project_id, ${NOW}::timestamptz
        FROM users u
        JOIN event_stats paid ON paid.user_id = u.id AND paid.event_name = 'order_paid'
        JOIN event_stats seen ON seen.user_id = u.id AND seen.event_name = '$session_start'
        WHERE u.project_id = ${p}
          AND u.properties ->> 'plan' IN ('pro', 'team')
          AND paid.count >= 2
          AND seen.last_at BETWEEN ${new Date(NOW_MS - 30 * DAY_MS)}::timestamptz AND ${NOW}::timestamptz
          AND u.properties ->> 'email' LIKE '%@%'
          AND u.email_unsubscribed_at IS NULL
        ON CONFLICT DO NOTHING`.execute(db);
      const ms = performance.now() - started;
      baselineMembers = Number(r.numAffectedRows ?? 0);
      return ms;
    };
    await baseline(); // warm-up: caches, plans
    await ours();
    const result = await alternate(4, baseline, ours);
    if (members !== baselineMembers) throw new Error(`memberships differ: ours ${members}, hand-written ${baselineMembers}`);
    return [
      line("segment-backfill", result.ours, result.baseline, "ms", {
        users: USERS,
        members,
        target: "<= 1.5 and < 10000 ms",
        timelineMs: round(timelineMs),
        samples: result.samples,
        spread: round(median(result.samples.ours) / Math.min(...result.samples.ours)),
      }),
    ];
  } finally {
    for (const name of QUEUE_NAMES) await queues.get(name).obliterate({ force: true }).catch(() => {});
    await queues.close();
    await testDb.destroy();
  }
}
