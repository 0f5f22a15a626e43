import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { classifyCondition, type Condition } from "./condition.types";
import { evaluateCondition, nextChangeAt } from "./condition-evaluator";
import { explainCondition } from "./condition-explainer";
import { validateCondition } from "./condition.schema";
import { counterKey } from "./counter-key";
import { isTimeRelative, requiredCounters } from "./condition-analysis";
import { DAY_MS } from "./condition-values";
import { conditionArb, scenarioArb, scenarioCard, SCENARIO_NOW, type UserScenario } from "./testing/condition-arbitraries";

const SEGMENTS = ["seg-a", "seg-b", "seg-c"];
const cases = fc.tuple(scenarioArb, conditionArb(SEGMENTS));
const cardFor = (scenario: UserScenario, condition: Condition) => scenarioCard(scenario, requiredCounters(condition), SEGMENTS);
const at = (ms: number) => new Date(ms);

describe("properties of the rule engine", () => {
  it("every generated condition is valid and survives validation unchanged", () => {
    fc.assert(
      fc.property(conditionArb(SEGMENTS), (condition) => {
        const result = validateCondition(JSON.parse(JSON.stringify(condition)));
        expect(result).toEqual({ ok: true, condition });
      }),
      { numRuns: 300 },
    );
  });

  it("not inverts the answer", () => {
    fc.assert(
      fc.property(cases, ([scenario, condition]) => {
        const card = cardFor(scenario, condition);
        expect(evaluateCondition({ not: condition }, card, SCENARIO_NOW)).toBe(!evaluateCondition(condition, card, SCENARIO_NOW));
      }),
      { numRuns: 300 },
    );
  });

  it("the explanation agrees with the evaluator, node by node", () => {
    fc.assert(
      fc.property(cases, ([scenario, condition]) => {
        const card = cardFor(scenario, condition);
        const trace = explainCondition(condition, card, SCENARIO_NOW);
        expect(trace[0]!.passed).toBe(evaluateCondition(condition, card, SCENARIO_NOW));
        expect(trace[0]!.path).toBe("");
        for (const node of trace) expect(node.detail.length).toBeGreaterThan(0);
      }),
      { numRuns: 300 },
    );
  });

  it("the answer holds until the next change instant, and re-evaluating there finds the one after", () => {
    fc.assert(
      fc.property(cases, fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 3, maxLength: 3 }), ([scenario, condition], fractions) => {
        const card = cardFor(scenario, condition);
        let now = SCENARIO_NOW.getTime();
        const horizon = now + 60 * DAY_MS;
        for (let step = 0; step < 6 && now < horizon; step++) {
          const answer = evaluateCondition(condition, card, at(now));
          const next = nextChangeAt(condition, card, at(now));
          if (next !== null) expect(next.getTime()).toBeGreaterThan(now);
          const until = next?.getTime() ?? horizon;
          for (const f of [...fractions, 1]) {
            const t = Math.min(until - 1, now + Math.floor(f * (until - now)));
            if (t > now) expect(evaluateCondition(condition, card, at(t)), `at ${at(t).toISOString()}`).toBe(answer);
          }
          if (next === null) break;
          now = next.getTime();
        }
      }),
      { numRuns: 300 },
    );
  });

  it("for a single question the next change instant is exact: the answer flips there", () => {
    const leaves = conditionArb(SEGMENTS, 0).filter((c) => !["and", "or", "not"].includes(classifyCondition(c).kind));
    fc.assert(
      fc.property(scenarioArb, leaves, (scenario, condition) => {
        const card = cardFor(scenario, condition);
        const next = nextChangeAt(condition, card, SCENARIO_NOW);
        if (next === null) return;
        expect(evaluateCondition(condition, card, next)).toBe(!evaluateCondition(condition, card, SCENARIO_NOW));
      }),
      { numRuns: 500 },
    );
  });

  it("a condition that is not time-relative never asks for a tick", () => {
    fc.assert(
      fc.property(cases, ([scenario, condition]) => {
        if (isTimeRelative(condition)) return;
        expect(nextChangeAt(condition, cardFor(scenario, condition), SCENARIO_NOW)).toBeNull();
      }),
      { numRuns: 300 },
    );
  });

  it("equal filters share one counter, whatever their order", () => {
    const filters = [
      { property: "plan", op: "in" as const, values: ["pro", "team", 1] },
      { property: "amount", op: "gt" as const, value: 10 },
      { property: "coupon", op: "defined" as const },
    ];
    fc.assert(
      fc.property(fc.shuffledSubarray(filters, { minLength: 3, maxLength: 3 }), fc.shuffledSubarray(["pro", "team", 1], { minLength: 3, maxLength: 3 }), (order, values) => {
        const shuffled = order.map((f) => (f.op === "in" ? { ...f, values } : f));
        expect(counterKey("order_paid", shuffled)).toBe(counterKey("order_paid", filters));
      }),
    );
    expect(counterKey("order_paid", filters)).not.toBe(counterKey("order_paid", filters.slice(1)));
    expect(counterKey("order_paid")).toBe("e:order_paid");
  });
});
