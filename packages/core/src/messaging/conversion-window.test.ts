import { describe, expect, it } from "vitest";
import { attributeConversion, goalRevenue, isGoalEvent, withinConversionWindow } from "./conversion-window";

const t = (iso: string) => new Date(iso);

describe("goal conversion", () => {
  it.each([
    ["right after sending", "2026-01-01T10:00:00Z", "2026-01-01T10:05:00Z", true],
    ["on the last moment of the window", "2026-01-01T10:00:00Z", "2026-01-08T10:00:00Z", true],
    ["after the window", "2026-01-01T10:00:00Z", "2026-01-08T10:00:01Z", false],
    ["before the message", "2026-01-01T10:00:00Z", "2026-01-01T09:59:59Z", false],
  ])("%s", (_name, sent, goal, expected) => {
    expect(withinConversionWindow({ withinDays: 7 }, t(sent), t(goal))).toBe(expected);
  });

  it("credits the most recent message before the goal (last touch)", () => {
    const sent = [
      { messageId: 1, sentAt: t("2026-01-01T10:00:00Z") },
      { messageId: 2, sentAt: t("2026-01-03T10:00:00Z") },
      { messageId: 3, sentAt: t("2026-01-05T10:00:00Z") },
    ];
    expect(attributeConversion({ withinDays: 7 }, sent, t("2026-01-04T00:00:00Z"))).toBe(2);
    expect(attributeConversion({ withinDays: 1 }, sent, t("2026-01-04T12:00:00Z"))).toBeNull();
    expect(attributeConversion({ withinDays: 7 }, [], t("2026-01-04T00:00:00Z"))).toBeNull();
  });

  it.each([
    [{ revenue: 19.9 }, 19.9],
    [{ revenue: "42.50" }, 42.5],
    [{ revenue: "lots" }, 0],
    [{ revenue: null }, 0],
    [{}, 0],
  ])("reads revenue from %j", (properties, expected) => {
    expect(goalRevenue(properties, "revenue")).toBe(expected);
  });

  it("matches goal events with property filters", () => {
    const goal = { event: "order_placed", where: [{ property: "total", op: "gt" as const, value: 0 }] };
    expect(isGoalEvent(goal, "order_placed", { total: 10 })).toBe(true);
    expect(isGoalEvent(goal, "order_placed", { total: 0 })).toBe(false);
    expect(isGoalEvent(goal, "cart", { total: 10 })).toBe(false);
  });
});
