import { describe, expect, it } from "vitest";
import { z } from "zod";
import { conditionSchema, validateCondition } from "./condition.schema";
import { CONDITION_LIMITS } from "./condition.types";

const leaf = { property: "plan", op: "eq", value: "pro" };

describe("validating a condition", () => {
  it("accepts a realistic segment and returns it typed", () => {
    const input = {
      and: [
        { event: "checkout_started", count: { op: "gte", value: 1 }, withinDays: 7, where: [{ property: "amount", op: "gt", value: 50 }] },
        { event: "order_paid", happened: false },
        { or: [{ emailKnown: true }, { identified: true }] },
        { not: { property: "company.plan", op: "in", values: ["enterprise", "team"] } },
        { lastSeen: { op: "within_last_days", days: 14 } },
        { score: { op: "between", from: 10, to: 90 } },
        { grade: { op: "in", values: ["A", "B"] } },
        { lifecycleStage: { op: "eq", value: "engaged" } },
        { segment: "2b1c9a3e-0000-4000-8000-000000000000" },
        { property: "trial_ends", op: "within_next_days", days: 3 },
        { property: "signed_up", op: "between", from: "2024-01-01", to: "2024-12-31T23:59:59Z" },
      ],
    };
    const result = validateCondition(input);
    expect(result).toEqual({ ok: true, condition: input });
  });

  it.each<[string, unknown, string, RegExp]>([
    ["not an object", "plan = pro", "", /must be a condition object/],
    ["unknown node", { and: [leaf, { prop: "x" }] }, "and.1", /unknown condition/],
    ["two questions in one node", { property: "plan", op: "defined", score: { op: "gt", value: 1 } }, "", /combine them with "and"/],
    ["unknown operator", { or: [{ property: "plan", op: "like", value: "p%" }] }, "or.0.op", /op must be one of/],
    ["missing value", { and: [{ property: "plan", op: "eq" }] }, "and.0.value", /string, a number or true\/false/],
    ["count compared with text", { and: [leaf, leaf, { event: "checkout_started", count: { op: "gt", value: "5" } }] }, "and.2.count.value", /expected number/],
    ["negative count", { event: "e", count: { op: "gt", value: -1 } }, "count.value", /too small|>=0/i],
    ["event with no question", { event: "e" }, "", /exactly one of count, last, first, happened/],
    ["event asking two things", { event: "e", happened: true, last: { op: "gt", value: "2024-01-01" } }, "", /exactly one/],
    ["not a date", { property: "signed_up", op: "gt", value: "yesterday" }, "value", /ISO 8601/],
    ["impossible date", { firstSeen: { op: "lt", value: "2024-02-30" } }, "firstSeen.value", /ISO 8601/],
    ["range backwards", { score: { op: "between", from: 9, to: 1 } }, "score.to", /must not be before/],
    ["range mixing numbers and dates", { property: "x", op: "between", from: 1, to: "2024-01-01" }, "to", /same kind/],
    ["relative date in an event filter", { event: "e", count: { op: "gt", value: 1 }, where: [{ property: "at", op: "within_last_days", days: 3 }] }, "where.0.op", /op must be one of/],
    ["window too long", { event: "e", count: { op: "gt", value: 1 }, withinDays: 400 }, "withinDays", /too big|<=365/i],
    ["fractional days", { lastSeen: { op: "within_last_days", days: 1.5 } }, "lastSeen.days", /integer|int/i],
    ["empty path segment", { property: "company..plan", op: "defined" }, "property", /dotted path/],
    ["prototype key", { property: "__proto__", op: "defined" }, "property", /dotted path/],
    ["unknown field", { property: "plan", op: "defined", value: 1 }, "", /Unrecognized key/],
    ["empty in list", { property: "plan", op: "in", values: [] }, "values", /too small|>=1/i],
    ["NUL in text", { property: "plan", op: "eq", value: "a\u0000b" }, "value", /NUL/],
    ["infinite number", { score: { op: "gt", value: Infinity } }, "score.value", /number/],
    ["not with a list", { not: [leaf] }, "not", /must be a condition object/],
  ])("refuses %s, naming the node", (_name, input, path, message) => {
    const result = validateCondition(input);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const error = result.errors.find((e) => e.path === path);
    expect(error, JSON.stringify(result.errors)).toBeDefined();
    expect(error!.message).toMatch(message);
  });

  it("reports every bad node, not only the first", () => {
    const result = validateCondition({ and: [{ property: "plan", op: "eq" }, leaf, { score: { op: "gt" } }] });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors.map((e) => e.path)).toEqual(["and.0.value", "and.2.score.value"]);
  });

  describe("limits keep a condition cheap", () => {
    it("refuses nesting deeper than the limit", () => {
      let deep: unknown = leaf;
      for (let i = 0; i < CONDITION_LIMITS.maxDepth; i++) deep = { not: deep };
      const result = validateCondition(deep);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.errors[0]!.message).toMatch(/nested too deeply/);
    });

    it("accepts nesting up to the limit", () => {
      let deep: unknown = leaf;
      for (let i = 1; i < CONDITION_LIMITS.maxDepth; i++) deep = { not: deep };
      expect(validateCondition(deep).ok).toBe(true);
    });

    it("refuses too many nodes, once", () => {
      const wide = { or: Array.from({ length: 5 }, () => ({ and: Array.from({ length: 45 }, () => leaf) })) };
      const result = validateCondition(wide);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.errors).toEqual([expect.objectContaining({ message: expect.stringMatching(/too many conditions/) })]);
    });

    it("refuses too many children and too long lists", () => {
      expect(validateCondition({ and: Array.from({ length: CONDITION_LIMITS.maxChildren + 1 }, () => leaf) }).ok).toBe(false);
      expect(validateCondition({ property: "id", op: "in", values: Array.from({ length: CONDITION_LIMITS.maxListValues + 1 }, (_, i) => i) }).ok).toBe(false);
      expect(validateCondition({ property: "bio", op: "contains", value: "x".repeat(CONDITION_LIMITS.maxStringLength + 1) }).ok).toBe(false);
    });
  });
});

describe("the condition as an API field", () => {
  const body = z.object({ name: z.string(), condition: conditionSchema });

  it("parses a valid condition into its typed form", () => {
    const parsed = body.parse({ name: "VIP", condition: { and: [leaf] } });
    expect(parsed.condition).toEqual({ and: [leaf] });
  });

  it("reports the bad node under the field's path", () => {
    const result = body.safeParse({ name: "VIP", condition: { and: [leaf, { event: "checkout_started", count: { op: "gt", value: "x" } }] } });
    expect(result.success).toBe(false);
    expect(result.error!.issues.map((i) => i.path.join("."))).toEqual(["condition.and.1.count.value"]);
  });

  it("documents itself in JSON Schema", () => {
    const json = z.toJSONSchema(body, { io: "input", unrepresentable: "any" }) as unknown as { properties: { condition: { description?: string } } };
    expect(json.properties.condition.description).toMatch(/segment condition/);
  });
});
