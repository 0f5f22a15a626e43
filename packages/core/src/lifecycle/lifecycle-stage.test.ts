import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DAY_MS } from "../conditions/condition-values";
import { cardWithEvents, ev } from "../conditions/testing/card-builder";
import { scenarioArb, scenarioCard, SCENARIO_NOW } from "../conditions/testing/condition-arbitraries";
import { evaluateCondition } from "../conditions/condition-evaluator";
import { validateCondition } from "../conditions/condition.schema";
import type { UserCard } from "../user-card";
import { lifecycleSettingsSchema } from "./lifecycle-settings";
import { computeLifecycleStage, lifecycleConditions } from "./lifecycle-stage";

const now = new Date("2024-05-20T12:00:00.000Z");
const settings = lifecycleSettingsSchema.parse({ coreEvent: "survey_created", activityEvent: "$session_start", advancedEvent: "integration_used" });

const daysAgo = (d: number) => new Date(now.getTime() - d * DAY_MS).toISOString();
const core = (n: number, lastDaysAgo: number) => Array.from({ length: n }, (_, i) => ev("survey_created", daysAgo(lastDaysAgo + i)));
const session = (d: number) => ev("$session_start", daysAgo(d));
const advanced = ev("integration_used", daysAgo(30));

const stage = (card: UserCard, s = settings) => computeLifecycleStage(card, s, now).stage;

describe("lifecycle stages", () => {
  it.each<[string, ReturnType<typeof ev>[], Partial<UserCard>, string | null]>([
    ["an anonymous visitor has no stage", [], { userId: null }, null],
    ["signed up, no core action: new", [session(0)], {}, "new"],
    ["one core action: novice", [session(0), ...core(1, 0)], {}, "novice"],
    ["six recent core actions and active: engaged", [session(1), ...core(6, 0)], {}, "engaged"],
    ["exactly five core actions is not more than five: novice", [session(1), ...core(5, 0)], {}, "novice"],
    ["not active for 8 days: novice", [session(8), ...core(6, 0)], {}, "novice"],
    ["no core action in 15 days: novice", [session(0), ...core(6, 15)], {}, "novice"],
    ["engaged and uses the advanced feature: power", [session(0), ...core(6, 0), advanced], {}, "power"],
  ])("%s", (_name, events, overrides, expected) => {
    expect(stage(cardWithEvents(events, [], overrides))).toBe(expected);
  });

  it("power also needs the project's score threshold once it is set", () => {
    const card = cardWithEvents([session(0), ...core(6, 0), advanced], [], { score: 30 });
    expect(stage(card, { ...settings, powerMinScore: 50 })).toBe("novice");
    expect(stage({ ...card, score: 50 }, { ...settings, powerMinScore: 50 })).toBe("power");
  });

  it("without an activity event, any activity (last seen) counts", () => {
    const card = cardWithEvents(core(6, 0), [], { lastSeenAt: new Date(daysAgo(2)) });
    expect(stage(card, { ...settings, activityEvent: null })).toBe("engaged");
    expect(stage({ ...card, lastSeenAt: new Date(daysAgo(9)) }, { ...settings, activityEvent: null })).toBe("novice");
  });

  it("without a core event, every identified user is new", () => {
    expect(stage(cardWithEvents([session(0)]), lifecycleSettingsSchema.parse({}))).toBe("new");
  });

  it("thresholds are the project's to change", () => {
    const card = cardWithEvents([session(20), ...core(3, 25)]);
    expect(stage(card, { ...settings, activeWithinDays: 30, coreWithinDays: 30, coreCountAbove: 2 })).toBe("engaged");
  });

  it("knows when an engaged user drifts to novice with no new events", () => {
    const card = cardWithEvents([session(2), ...core(6, 1)]);
    const { stage: s, nextChangeAt } = computeLifecycleStage(card, settings, now);
    expect(s).toBe("engaged");
    // The last session (2 days ago) leaves the 7-day activity window first.
    expect(nextChangeAt?.toISOString()).toBe(new Date(now.getTime() + 5 * DAY_MS + 1).toISOString());
    expect(computeLifecycleStage(card, settings, nextChangeAt!).stage).toBe("novice");
  });

  it("a new user's stage does not change by time alone", () => {
    expect(computeLifecycleStage(cardWithEvents([session(0)]), settings, now).nextChangeAt).toBeNull();
  });

  it("stage conditions are valid conditions, and exactly one stage holds for every identified card", () => {
    const conditions = lifecycleConditions(settings);
    for (const c of Object.values(conditions)) expect(validateCondition(c).ok).toBe(true);
    const named = lifecycleSettingsSchema.parse({ coreEvent: "order_paid", activityEvent: "$session_start", advancedEvent: "feature_used", coreCountAbove: 1 });
    const c = lifecycleConditions(named);
    fc.assert(
      fc.property(scenarioArb, (scenario) => {
        const card = scenarioCard({ ...scenario, userId: "u1" }, [], []);
        const held = (["power", "engaged", "new"] as const).filter((s) => evaluateCondition(c[s], card, SCENARIO_NOW));
        expect(held.length).toBeLessThanOrEqual(1);
        expect(computeLifecycleStage(card, named, SCENARIO_NOW).stage).toBe(held[0] ?? "novice");
      }),
      { numRuns: 200 },
    );
  });
});

describe("lifecycle settings", () => {
  it("fill in the documented defaults", () => {
    expect(lifecycleSettingsSchema.parse({ coreEvent: "survey_created" })).toEqual({
      coreEvent: "survey_created",
      activityEvent: null,
      advancedEvent: null,
      activeWithinDays: 7,
      coreWithinDays: 14,
      coreCountAbove: 5,
      powerMinScore: null,
    });
  });
});
