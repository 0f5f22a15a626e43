import { awardPoints, emptyAwardHistory, type ScoringLimit, type ScoringRule } from "@nurture/core";
import { createTestDatabase, type TestDatabase } from "@nurture/db/testing";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProject } from "../projects/projects.repository";
import { recomputeUserScores } from "./score-recompute";
import { createScoringRule, scoringRuleOf } from "./scoring-rules.repository";

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => t.destroy());

const NOW = new Date("2026-02-01T00:00:00Z");
const HOUR = 3_600_000;

const limitArb = fc.oneof(
  fc.constant<ScoringLimit>({ type: "none" }),
  fc.constant<ScoringLimit>({ type: "once_per_user" }),
  fc.integer({ min: 1, max: 3 }).map((times): ScoringLimit => ({ type: "max_times", times })),
  fc.constant<ScoringLimit>({ type: "once_per_day" }),
);
const ruleArb = fc.record({
  event: fc.constantFrom("a", "b"),
  points: fc.integer({ min: -5, max: 10 }).filter((p) => p !== 0),
  limit: limitArb,
  filtered: fc.boolean(),
  expiresAfterDays: fc.option(fc.integer({ min: 1, max: 20 })),
});
const eventArb = fc.record({ user: fc.integer({ min: 0, max: 2 }), name: fc.constantFrom("a", "b", "c"), hour: fc.integer({ min: 0, max: 24 * 40 }), plan: fc.constantFrom("pro", "free", undefined) });

describe("recomputeUserScores (set-based SQL)", () => {
  it("writes exactly the history the scoring maths gives, expiries included", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(ruleArb, { minLength: 1, maxLength: 4 }), fc.array(eventArb, { maxLength: 30 }), async (ruleSpecs, eventSpecs) => {
        const project = await createProject(t.db, "recompute");
        const rules: ScoringRule[] = [];
        for (const [i, r] of ruleSpecs.entries()) {
          const row = await createScoringRule(t.db, project.id, {
            name: `rule ${i}`,
            event: r.event,
            points: r.points,
            limit: r.limit,
            where: r.filtered ? [{ property: "plan", op: "eq", value: "pro" }] : null,
            expiresAfterDays: r.expiresAfterDays,
          });
          rules.push(scoringRuleOf(row));
        }
        const users = await t.db
          .insertInto("users")
          .values([0, 1, 2].map((i) => ({ project_id: project.id, user_id: `u${i}`, first_seen_at: NOW, last_seen_at: NOW, score: 999 })))
          .returning("id")
          .execute();
        const userIds = users.map((u) => u.id);
        const events =
          eventSpecs.length === 0
            ? []
            : await t.db
                .insertInto("events")
                .values(
                  eventSpecs.map((e, i) => ({
                    project_id: project.id,
                    user_id: userIds[e.user]!,
                    message_id: `m${i}`,
                    type: "track",
                    name: e.name,
                    properties: JSON.stringify(e.plan ? { plan: e.plan } : {}),
                    occurred_at: new Date(Date.UTC(2026, 0, 1) + e.hour * HOUR - 240 * HOUR),
                    processed_at: NOW,
                  })),
                )
                .returning(["id", "user_id", "name", "properties", "occurred_at"])
                .execute();

        const result = await recomputeUserScores(t.db, project.id, userIds, rules, NOW, { tickChanged: true });

        for (const userId of userIds) {
          const own = events
            .filter((e) => e.user_id === userId)
            .sort((x, y) => x.occurred_at.getTime() - y.occurred_at.getTime() || x.id - y.id)
            .map((e) => ({ id: e.id, name: e.name, properties: e.properties, occurredAt: e.occurred_at }));
          const awards = awardPoints(rules, own, emptyAwardHistory());
          const order = new Map(rules.map((r, i) => [r.id, i]));
          const steps = [
            ...awards.map((a) => ({ kind: "award", at: a.at, step: 0, a, delta: a.points })),
            ...awards.filter((a) => a.expiresAt !== null && a.expiresAt <= NOW).map((a) => ({ kind: "expiry", at: a.expiresAt!, step: 1, a, delta: -a.points })),
          ].sort((x, y) => x.at.getTime() - y.at.getTime() || x.step - y.step || x.a.eventId - y.a.eventId || order.get(x.a.ruleId)! - order.get(y.a.ruleId)!);
          let running = 0;
          const expected = steps.map((s) => ({ kind: s.kind, rule_id: s.a.ruleId, event_id: s.a.eventId, delta: s.delta, score_after: (running += s.delta) }));

          const ledger = await t.db.selectFrom("score_ledger").select(["kind", "rule_id", "event_id", "delta", "score_after"]).where("user_id", "=", userId).orderBy("id").execute();
          expect(ledger).toEqual(expected);
          expect(result.scores.get(userId)).toBe(running);
          const row = await t.db.selectFrom("users").select(["score", "next_tick_at"]).where("id", "=", userId).executeTakeFirstOrThrow();
          expect(row.score).toBe(running);
          const pending = awards.filter((a) => a.expiresAt !== null && a.expiresAt > NOW).map((a) => a.expiresAt!.getTime());
          // Changed from 999, so the pipeline is asked to re-run now (segments read the score).
          expect(row.next_tick_at?.getTime()).toBe(Math.min(NOW.getTime(), ...pending));
        }
      }),
      { numRuns: 25 },
    );
  });
});
