import { describe, expect, it } from "vitest";
import type { UserCard } from "../user-card";
import type { Condition } from "./condition.types";
import { evaluateCondition, nextChangeAt } from "./condition-evaluator";
import { validateCondition } from "./condition.schema";
import { cardWithEvents, ev, makeCard } from "./testing/card-builder";

const now = new Date("2024-05-20T12:00:00.000Z");

const user = makeCard({
  properties: {
    plan: "pro",
    seats: 12,
    seatsText: "12",
    tags: ["vip", "beta", 7],
    company: { name: "Acme Corp", size: 250 },
    nothing: null,
    trial_ends: "2024-05-22T12:00:00Z",
    signed_up: "2024-05-01",
    renewal: "2024-06-01T09:00:00+02:00",
    bad_date: "2024-02-30",
    email: "ann@example.com",
  },
  score: 42,
  grade: "B",
  valueClass: "AX",
  lifecycleStage: "engaged",
  segmentIds: ["seg-vip"],
});

describe("property conditions", () => {
  it.each<[string, Condition, boolean]>([
    ["defined: present", { property: "plan", op: "defined" }, true],
    ["defined: null counts as not set", { property: "nothing", op: "defined" }, false],
    ["not_defined: missing", { property: "ghost", op: "not_defined" }, true],
    ["eq: same string", { property: "plan", op: "eq", value: "pro" }, true],
    ["eq: is case-sensitive", { property: "plan", op: "eq", value: "Pro" }, false],
    ["eq: a number never equals its text", { property: "seatsText", op: "eq", value: 12 }, false],
    ["eq: numbers", { property: "seats", op: "eq", value: 12 }, true],
    ["neq: different value", { property: "plan", op: "neq", value: "free" }, true],
    ["neq: a missing property is not equal", { property: "ghost", op: "neq", value: "free" }, true],
    ["nested path", { property: "company.name", op: "eq", value: "Acme Corp" }, true],
    ["nested path through a non-object", { property: "plan.name", op: "defined" }, false],
    ["contains: substring", { property: "company.name", op: "contains", value: "Corp" }, true],
    ["contains: substring is case-sensitive", { property: "company.name", op: "contains", value: "corp" }, false],
    ["contains: array element", { property: "tags", op: "contains", value: "vip" }, true],
    ["contains: array element, number", { property: "tags", op: "contains", value: 7 }, true],
    ["contains: array elements are whole values", { property: "tags", op: "contains", value: "vi" }, false],
    ["contains: numbers are not text", { property: "seats", op: "contains", value: "1" }, false],
    ["in: one of", { property: "plan", op: "in", values: ["team", "pro"] }, true],
    ["in: an array property is not a scalar", { property: "tags", op: "in", values: ["vip"] }, false],
    ["in: missing", { property: "ghost", op: "in", values: ["x"] }, false],
    ["gt: number", { property: "seats", op: "gt", value: 10 }, true],
    ["gte: equal number", { property: "seats", op: "gte", value: 12 }, true],
    ["lt: text holding a number is not a number", { property: "seatsText", op: "lt", value: 100 }, false],
    ["between: inclusive", { property: "company.size", op: "between", from: 250, to: 300 }, true],
    ["gt: date", { property: "signed_up", op: "gt", value: "2024-04-30" }, true],
    ["lt: date with a zone offset", { property: "renewal", op: "lt", value: "2024-06-01T07:00:00.001Z" }, true],
    ["lte: date with a zone offset, exactly", { property: "renewal", op: "lte", value: "2024-06-01T07:00:00Z" }, true],
    ["gt: an impossible date is not a date", { property: "bad_date", op: "gt", value: "2000-01-01" }, false],
    ["between: dates", { property: "signed_up", op: "between", from: "2024-05-01", to: "2024-05-01T00:00:00Z" }, true],
    ["within_last_days", { property: "signed_up", op: "within_last_days", days: 20 }, true],
    ["within_last_days: too long ago", { property: "signed_up", op: "within_last_days", days: 19 }, false],
    ["more_than_days_ago", { property: "signed_up", op: "more_than_days_ago", days: 19 }, true],
    ["within_next_days", { property: "trial_ends", op: "within_next_days", days: 2 }, true],
    ["within_next_days: a past date is not next", { property: "signed_up", op: "within_next_days", days: 30 }, false],
    ["within_last_days: a future date is not last", { property: "trial_ends", op: "within_last_days", days: 30 }, false],
  ])("%s", (_name, condition, expected) => {
    expect(validateCondition(condition).ok).toBe(true);
    expect(evaluateCondition(condition, user, now)).toBe(expected);
  });
});

describe("event conditions", () => {
  const events = [
    ev("order_paid", "2024-04-01T10:00:00Z", { amount: 20, coupon: "SPRING" }),
    ev("order_paid", "2024-05-14T00:00:00Z", { amount: 120 }),
    ev("order_paid", "2024-05-19T23:59:59.999Z", { amount: 80 }),
    ev("order_paid", "2024-05-20T08:00:00Z", { amount: 300 }),
    ev("checkout_started", "2024-05-20T11:00:00Z"),
  ];
  const bigOrders = [{ property: "amount", op: "gte" as const, value: 100 }];
  const card = cardWithEvents(events, [
    { event: "order_paid" },
    { event: "order_paid", where: bigOrders },
    { event: "order_paid", where: [{ property: "coupon", op: "eq", value: "SUMMER" }] },
  ]);

  it.each<[string, Condition, boolean]>([
    ["count of all time", { event: "order_paid", count: { op: "eq", value: 4 } }, true],
    ["count of an event that never happened is 0", { event: "signup", count: { op: "eq", value: 0 } }, true],
    ["count with a filter", { event: "order_paid", count: { op: "eq", value: 2 }, where: bigOrders }, true],
    ["count today (window of 1 day is today, UTC)", { event: "order_paid", count: { op: "eq", value: 1 }, withinDays: 1 }, true],
    ["count over 2 days includes yesterday up to midnight", { event: "order_paid", count: { op: "eq", value: 2 }, withinDays: 2 }, true],
    ["count over 7 days: today and the 6 days before", { event: "order_paid", count: { op: "eq", value: 3 }, withinDays: 7 }, true],
    ["count over 6 days leaves out the 14th", { event: "order_paid", count: { op: "eq", value: 2 }, withinDays: 6 }, true],
    ["count with filter and window", { event: "order_paid", count: { op: "eq", value: 1 }, where: bigOrders, withinDays: 6 }, true],
    ["count between", { event: "order_paid", count: { op: "between", from: 3, to: 5 } }, true],
    ["last happened within the last 14 days", { event: "order_paid", last: { op: "within_last_days", days: 14 } }, true],
    ["first happened more than 30 days ago", { event: "order_paid", first: { op: "more_than_days_ago", days: 30 } }, true],
    ["last with a filter", { event: "order_paid", last: { op: "gt", value: "2024-05-20T07:00:00Z" }, where: bigOrders }, true],
    ["a never-happened event did not happen recently", { event: "signup", last: { op: "within_last_days", days: 14 } }, false],
    ["a never-happened event did not happen long ago either", { event: "signup", last: { op: "more_than_days_ago", days: 14 } }, false],
    ["never happened", { event: "signup", happened: false }, true],
    ["happened", { event: "checkout_started", happened: true }, true],
    ["never happened, with a filter", { event: "order_paid", where: [{ property: "coupon", op: "eq", value: "SUMMER" }], happened: false }, true],
  ])("%s", (_name, condition, expected) => {
    expect(validateCondition(condition).ok).toBe(true);
    expect(evaluateCondition(condition, card, now)).toBe(expected);
  });
});

describe("card facts", () => {
  it.each<[string, Condition, Partial<UserCard>, boolean]>([
    ["score at least", { score: { op: "gte", value: 42 } }, {}, true],
    ["grade in", { grade: { op: "in", values: ["A", "B"] } }, {}, true],
    ["grade not set", { grade: { op: "not_defined" } }, { grade: null }, true],
    ["grade neq when not set", { grade: { op: "neq", value: "A" } }, { grade: null }, true],
    ["value class", { valueClass: { op: "eq", value: "AX" } }, {}, true],
    ["lifecycle stage", { lifecycleStage: { op: "eq", value: "engaged" } }, {}, true],
    ["segment member", { segment: "seg-vip" }, {}, true],
    ["segment non-member", { not: { segment: "seg-other" } }, {}, true],
    ["first seen", { firstSeen: { op: "more_than_days_ago", days: 29 } }, {}, true],
    ["last seen", { lastSeen: { op: "within_last_days", days: 1 } }, {}, true],
    ["identified", { identified: true }, {}, true],
    ["anonymous", { identified: false }, { userId: null }, true],
    ["email known", { emailKnown: true }, {}, true],
    ["email not an address", { emailKnown: true }, { properties: { email: "n/a" } }, false],
    ["unsubscribed", { emailUnsubscribed: true }, { emailUnsubscribed: true }, true],
    ["empty and holds (everyone)", { and: [] }, {}, true],
    ["empty or fails (nobody)", { or: [] }, {}, false],
  ])("%s", (_name, condition, overrides, expected) => {
    expect(validateCondition(condition).ok).toBe(true);
    expect(evaluateCondition(condition, { ...user, ...overrides }, now)).toBe(expected);
  });
});

describe("when the answer changes with no new events", () => {
  const card = cardWithEvents(
    [ev("$session_start", "2024-05-10T09:00:00Z"), ev("order_paid", "2024-05-18T15:00:00Z"), ev("order_paid", "2024-05-19T10:00:00Z")],
    [{ event: "order_paid" }],
    { properties: { trial_ends: "2024-05-22T12:00:00Z", plan: "pro" } },
  );
  it.each<[string, Condition, string | null]>([
    ["inactive for 14 days: when the last session is 14 days old", { not: { event: "$session_start", last: { op: "within_last_days", days: 14 } } }, "2024-05-24T09:00:00.001Z"],
    ["more than 14 days ago: the same instant", { event: "$session_start", last: { op: "more_than_days_ago", days: 14 } }, "2024-05-24T09:00:00.001Z"],
    ["trial ends in the next day: when it is one day away", { property: "trial_ends", op: "within_next_days", days: 1 }, "2024-05-21T12:00:00.000Z"],
    ["windowed count drops at the UTC midnight the oldest day leaves", { event: "order_paid", count: { op: "gte", value: 2 }, withinDays: 3 }, "2024-05-21T00:00:00.000Z"],
    ["windowed count: a change that does not flip the answer is skipped", { event: "order_paid", count: { op: "gte", value: 1 }, withinDays: 3 }, "2024-05-22T00:00:00.000Z"],
    ["a static condition never changes by time", { property: "plan", op: "eq", value: "pro" }, null],
    ["and: a false static part pins the answer", { and: [{ property: "plan", op: "eq", value: "free" }, { event: "$session_start", last: { op: "within_last_days", days: 14 } }] }, null],
    ["or: the earliest change of its parts", { or: [{ property: "trial_ends", op: "within_next_days", days: 1 }, { event: "$session_start", last: { op: "more_than_days_ago", days: 14 } }] }, "2024-05-21T12:00:00.000Z"],
    ["already past every edge", { event: "$session_start", last: { op: "more_than_days_ago", days: 3 } }, null],
  ])("%s", (_name, condition, expected) => {
    expect(nextChangeAt(condition, card, now)?.toISOString() ?? null).toBe(expected);
  });

  it("the answer does flip at that instant", () => {
    const inactive: Condition = { not: { event: "$session_start", last: { op: "within_last_days", days: 14 } } };
    const at = nextChangeAt(inactive, card, now)!;
    expect(evaluateCondition(inactive, card, new Date(at.getTime() - 1))).toBe(false);
    expect(evaluateCondition(inactive, card, at)).toBe(true);
  });
});
