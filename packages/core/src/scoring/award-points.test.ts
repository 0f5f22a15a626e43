import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { awardPoints, emptyAwardHistory, utcDay, type Award, type AwardHistory, type ScoringEvent } from "./award-points";
import type { ScoringLimit, ScoringRule } from "./scoring-rule";

const rule = (id: string, event: string, points: number, limit: ScoringLimit = { type: "none" }, extra: Partial<ScoringRule> = {}): ScoringRule => ({
  id,
  event,
  where: null,
  points,
  limit,
  expiresAfterDays: null,
  ...extra,
});
let nextId = 1;
const ev = (name: string, at: string, properties: Record<string, unknown> = {}): ScoringEvent => ({ id: nextId++, name, properties, occurredAt: new Date(at) });
const total = (awards: Award[]) => awards.reduce((s, a) => s + a.points, 0);

describe("awardPoints", () => {
  const cases: { name: string; rules: ScoringRule[]; events: ScoringEvent[]; expected: number; awards: number }[] = [
    { name: "no limit scores every event", rules: [rule("r", "$page", 1)], events: [ev("$page", "2026-01-01T10:00Z"), ev("$page", "2026-01-01T11:00Z")], expected: 2, awards: 2 },
    { name: "other events score nothing", rules: [rule("r", "$page", 1)], events: [ev("signup", "2026-01-01T10:00Z")], expected: 0, awards: 0 },
    {
      name: "once per user",
      rules: [rule("r", "trial_finished", 20, { type: "once_per_user" })],
      events: [ev("trial_finished", "2026-01-01T10:00Z"), ev("trial_finished", "2026-02-01T10:00Z")],
      expected: 20,
      awards: 1,
    },
    {
      name: "at most N times",
      rules: [rule("r", "guide_downloaded", 10, { type: "max_times", times: 2 })],
      events: [ev("guide_downloaded", "2026-01-01T10:00Z"), ev("guide_downloaded", "2026-01-02T10:00Z"), ev("guide_downloaded", "2026-01-03T10:00Z")],
      expected: 20,
      awards: 2,
    },
    {
      name: "once per UTC day",
      rules: [rule("r", "$page", 1, { type: "once_per_day" })],
      events: [ev("$page", "2026-01-01T00:00Z"), ev("$page", "2026-01-01T23:59:59Z"), ev("$page", "2026-01-02T00:00Z"), ev("$page", "2026-01-01T22:00-05:00")],
      // The last one is 2026-01-02T03:00Z: same UTC day as the third.
      expected: 2,
      awards: 2,
    },
    { name: "negative points", rules: [rule("r", "$unsubscribed", -10)], events: [ev("$unsubscribed", "2026-01-01T10:00Z")], expected: -10, awards: 1 },
    {
      name: "property filter",
      rules: [rule("r", "$page", 5, { type: "none" }, { where: [{ property: "path", op: "contains", value: "/pricing" }] })],
      events: [ev("$page", "2026-01-01T10:00Z", { path: "/pricing/pro" }), ev("$page", "2026-01-01T10:00Z", { path: "/blog" }), ev("$page", "2026-01-01T10:00Z")],
      expected: 5,
      awards: 1,
    },
    {
      name: "two rules on one event both score, each within its own limit",
      rules: [rule("a", "$page", 1), rule("b", "$page", 2, { type: "once_per_user" })],
      events: [ev("$page", "2026-01-01T10:00Z"), ev("$page", "2026-01-02T10:00Z")],
      expected: 1 + 2 + 1,
      awards: 3,
    },
  ];
  it.each(cases)("$name", ({ rules, events, expected, awards }) => {
    const result = awardPoints(rules, events, emptyAwardHistory());
    expect(total(result)).toBe(expected);
    expect(result).toHaveLength(awards);
  });

  it("counts past awards against the limits", () => {
    const rules = [rule("once", "x", 5, { type: "once_per_user" }), rule("daily", "y", 1, { type: "once_per_day" })];
    const history: AwardHistory = { counts: { once: 1 }, days: { daily: ["2026-03-01"] } };
    const result = awardPoints(rules, [ev("x", "2026-03-01T10:00Z"), ev("y", "2026-03-01T12:00Z"), ev("y", "2026-03-02T12:00Z")], history);
    expect(result.map((a) => [a.ruleId, utcDay(a.at)])).toEqual([["daily", "2026-03-02"]]);
  });

  it("never awards a (rule, event) pair that already scored", () => {
    const e = ev("$page", "2026-01-01T10:00Z");
    expect(awardPoints([rule("r", "$page", 1)], [e], { counts: { r: 1 }, days: {} }, new Set([`r:${e.id}`]))).toEqual([]);
  });

  it("sets the expiry N × 24 hours after the event", () => {
    const [award] = awardPoints([rule("r", "$page", 1, { type: "none" }, { expiresAfterDays: 30 })], [ev("$page", "2026-03-20T12:00Z")], emptyAwardHistory());
    expect(award!.expiresAt!.toISOString()).toBe("2026-04-19T12:00:00.000Z");
  });

  // The pipeline scores in batches, carrying the history over; that must equal scoring everything at once.
  it("gives the same awards in batches as all at once", () => {
    const limit = fc.oneof(
      fc.constant<ScoringLimit>({ type: "none" }),
      fc.constant<ScoringLimit>({ type: "once_per_user" }),
      fc.integer({ min: 1, max: 3 }).map((times): ScoringLimit => ({ type: "max_times", times })),
      fc.constant<ScoringLimit>({ type: "once_per_day" }),
    );
    const names = ["a", "b", "c"];
    const rulesArb = fc.array(fc.record({ event: fc.constantFrom(...names), points: fc.integer({ min: -5, max: 10 }).filter((p) => p !== 0), limit }), { minLength: 1, maxLength: 5 });
    const eventsArb = fc.array(fc.record({ name: fc.constantFrom(...names), hour: fc.integer({ min: 0, max: 24 * 5 }) }), { maxLength: 40 });
    fc.assert(
      fc.property(rulesArb, eventsArb, fc.array(fc.nat(), { maxLength: 5 }), (ruleSpecs, eventSpecs, cuts) => {
        const rules = ruleSpecs.map((r, i) => rule(`r${i}`, r.event, r.points, r.limit));
        const events = eventSpecs
          .map((e, i) => ({ id: i + 1, name: e.name, properties: {}, occurredAt: new Date(Date.UTC(2026, 0, 1) + e.hour * 3_600_000) }))
          .sort((x, y) => x.occurredAt.getTime() - y.occurredAt.getTime() || x.id - y.id);
        const all = awardPoints(rules, events, emptyAwardHistory());

        const bounds = [...new Set(cuts.map((c) => c % (events.length + 1)))].sort((x, y) => x - y);
        const batches: ScoringEvent[][] = [];
        let start = 0;
        for (const b of [...bounds, events.length]) {
          batches.push(events.slice(start, b));
          start = Math.max(start, b);
        }
        const incremental: Award[] = [];
        for (const batch of batches) incremental.push(...awardPoints(rules, batch, historyOf(incremental)));
        expect(incremental).toEqual(all);

        for (const r of rules) {
          const count = all.filter((a) => a.ruleId === r.id).length;
          if (r.limit.type === "once_per_user") expect(count).toBeLessThanOrEqual(1);
          if (r.limit.type === "max_times") expect(count).toBeLessThanOrEqual(r.limit.times);
        }
      }),
    );
  });
});

function historyOf(awards: Award[]): AwardHistory {
  const history: AwardHistory = { counts: {}, days: {} };
  for (const a of awards) {
    history.counts[a.ruleId] = (history.counts[a.ruleId] ?? 0) + 1;
    history.days[a.ruleId] = [...(history.days[a.ruleId] ?? []), utcDay(a.at)];
  }
  return history;
}
