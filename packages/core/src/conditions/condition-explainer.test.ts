import { describe, expect, it } from "vitest";
import { explainCondition } from "./condition-explainer";
import { cardWithEvents, ev } from "./testing/card-builder";

const now = new Date("2024-05-20T12:00:00.000Z");
const card = cardWithEvents(
  [ev("checkout_started", "2024-05-18T10:00:00Z", { amount: 80 }), ev("checkout_started", "2024-05-19T10:00:00Z", { amount: 20 })],
  [{ event: "checkout_started" }, { event: "checkout_started", where: [{ property: "amount", op: "gt", value: 50 }] }],
  { properties: { plan: "basic", email: "ann@example.com" }, score: 40, grade: "B" },
);

describe("explaining why a card did or did not match", () => {
  it("traces every node, root first, with the reason in words", () => {
    const trace = explainCondition(
      {
        and: [
          { event: "checkout_started", count: { op: "gt", value: 5 } },
          { or: [{ property: "plan", op: "eq", value: "pro" }, { score: { op: "gte", value: 50 } }] },
          { not: { event: "order_paid", happened: true } },
        ],
      },
      card,
      now,
    );
    expect(trace).toEqual([
      { path: "", kind: "and", passed: false, detail: "1 of 3 conditions hold; needs all" },
      { path: "and.0", kind: "event_count", passed: false, detail: "count of checkout_started = 2; needs > 5" },
      { path: "and.1", kind: "or", passed: false, detail: "0 of 2 conditions hold; needs at least one" },
      { path: "and.1.or.0", kind: "property", passed: false, detail: 'plan = "basic"; needs = "pro"' },
      { path: "and.1.or.1", kind: "score", passed: false, detail: "score = 40; needs ≥ 50" },
      { path: "and.2", kind: "not", passed: true, detail: "the inner condition does not hold" },
      { path: "and.2.not", kind: "event_happened", passed: false, detail: "order_paid never happened; needs to have happened" },
    ]);
  });

  it.each<[string, Parameters<typeof explainCondition>[0], string]>([
    [
      "windowed and filtered count",
      { event: "checkout_started", count: { op: "gte", value: 1 }, withinDays: 7, where: [{ property: "amount", op: "gt", value: 50 }] },
      "count of checkout_started where amount > 50 in the last 7 days (UTC) = 1; needs ≥ 1",
    ],
    ["recency", { event: "checkout_started", last: { op: "within_last_days", days: 1 } }, "checkout_started last happened 2024-05-19T10:00:00.000Z (26 hours ago); needs within the last 1 day"],
    ["missing property", { property: "company", op: "defined" }, "company is not set; needs to be set"],
    ["grade", { grade: { op: "in", values: ["A"] } }, 'grade = "B"; needs one of "A"'],
    ["email", { emailKnown: true }, 'email "ann@example.com" known; needs a known email'],
    ["segment", { segment: "s1" }, "not a member of segment s1; needs membership"],
  ])("%s", (_name, condition, detail) => {
    expect(explainCondition(condition, card, now)[0]!.detail).toBe(detail);
  });
});
