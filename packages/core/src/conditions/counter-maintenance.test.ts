import { describe, expect, it } from "vitest";
import { addToCounter, buildCounter, emptyCounter, pruneCounter } from "./counter-maintenance";
import { requiredCounters } from "./condition-analysis";
import { ev } from "./testing/card-builder";

describe("counters", () => {
  it("count matching events per UTC day, with first and last time", () => {
    const counter = buildCounter({ event: "order_paid", where: [{ property: "amount", op: "gte", value: 100 }] }, [
      ev("order_paid", "2024-05-19T23:59:59.999Z", { amount: 100 }),
      ev("order_paid", "2024-05-20T00:00:00Z", { amount: 150 }),
      ev("order_paid", "2024-05-20T05:00:00Z", { amount: 5 }),
      ev("checkout_started", "2024-05-20T06:00:00Z", { amount: 500 }),
      ev("order_paid", "2024-05-20T07:00:00+02:00", { amount: 120 }),
    ]);
    expect(counter).toEqual({
      total: 3,
      firstAt: new Date("2024-05-19T23:59:59.999Z"),
      lastAt: new Date("2024-05-20T05:00:00Z"),
      daily: { "2024-05-19": 1, "2024-05-20": 2 },
    });
  });

  it("prune days no window can reach, keeping totals", () => {
    const counter = emptyCounter();
    for (const at of ["2024-05-01T10:00:00Z", "2024-05-13T10:00:00Z", "2024-05-14T10:00:00Z", "2024-05-22T10:00:00Z"]) addToCounter(counter, new Date(at));
    pruneCounter(counter, 7, new Date("2024-05-20T12:00:00Z"));
    expect(counter.daily).toEqual({ "2024-05-14": 1, "2024-05-22": 1 });
    expect(counter.total).toBe(4);
  });

  it("a condition asks for each counter once, with its longest window", () => {
    const where = [{ property: "amount", op: "gte" as const, value: 100 }];
    expect(
      requiredCounters({
        and: [
          { event: "order_paid", count: { op: "gte", value: 1 }, withinDays: 7 },
          { event: "order_paid", count: { op: "gte", value: 3 }, withinDays: 30 },
          { event: "order_paid", count: { op: "gte", value: 3 } },
          { not: { event: "order_paid", where, last: { op: "within_last_days", days: 3 } } },
          { event: "order_paid", where, happened: true },
        ],
      }),
    ).toEqual([
      { key: "e:order_paid", event: "order_paid", where: null, windowDays: 30 },
      { key: expect.stringMatching(/^f:[0-9a-f]{16}:order_paid$/), event: "order_paid", where, windowDays: 0 },
    ]);
  });
});
