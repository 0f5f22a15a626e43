import { describe, expect, it } from "vitest";
import { mergeProperties } from "./card-merge";
import { applyPropertyOps, PropertyOpError, type PropertyOp } from "./property-ops";

const t1 = new Date("2026-01-01T00:00:00Z");
const t2 = new Date("2026-01-02T00:00:00Z");

describe("property operations", () => {
  it.each<[string, PropertyOp[], Record<string, unknown>]>([
    ["set overwrites", [{ op: "set", key: "plan", value: "pro" }], { plan: "pro", visits: 2, tags: ["a"] }],
    ["set_once keeps an existing value", [{ op: "set_once", key: "plan", value: "pro" }], { plan: "free", visits: 2, tags: ["a"] }],
    ["set_once fills a missing value", [{ op: "set_once", key: "source", value: "ads" }], { plan: "free", visits: 2, tags: ["a"], source: "ads" }],
    ["unset removes", [{ op: "unset", key: "plan" }], { visits: 2, tags: ["a"] }],
    ["increment adds", [{ op: "increment", key: "visits", value: 3 }], { plan: "free", visits: 5, tags: ["a"] }],
    ["increment starts at zero", [{ op: "increment", key: "orders", value: 1 }], { plan: "free", visits: 2, tags: ["a"], orders: 1 }],
    ["append keeps duplicates", [{ op: "append", key: "tags", value: "a" }], { plan: "free", visits: 2, tags: ["a", "a"] }],
    ["union dedupes", [{ op: "union", key: "tags", value: ["a", "b", "b"] }], { plan: "free", visits: 2, tags: ["a", "b"] }],
    ["remove drops every equal element", [{ op: "remove", key: "tags", value: "a" }], { plan: "free", visits: 2, tags: [] }],
  ])("%s", (_name, ops, expected) => {
    const result = applyPropertyOps({ plan: "free", visits: 2, tags: ["a"] }, {}, ops, t1);
    expect(result.properties).toEqual(expected);
  });

  it("applies nothing when one operation cannot apply", () => {
    const before = { plan: "free" };
    expect(() =>
      applyPropertyOps(before, {}, [{ op: "set", key: "a", value: 1 }, { op: "increment", key: "plan", value: 1 }], t1),
    ).toThrowError(PropertyOpError);
    expect(before).toEqual({ plan: "free" });
  });
});

describe("merging an anonymous card into a known one", () => {
  it("honours the meaning of each operation", () => {
    const known = applyPropertyOps({}, {}, [
      { op: "set_once", key: "source", value: "newsletter" },
      { op: "increment", key: "visits", value: 2 },
      { op: "union", key: "tags", value: ["a"] },
      { op: "set", key: "name", value: "Ann" },
    ], t2);
    const anon = applyPropertyOps({}, {}, [
      { op: "set_once", key: "source", value: "ads" },
      { op: "increment", key: "visits", value: 3 },
      { op: "union", key: "tags", value: ["a", "b"] },
      { op: "set", key: "name", value: "anon" },
      { op: "set", key: "city", value: "Oslo" },
    ], t1);
    const merged = mergeProperties(known, anon);
    expect(merged.properties).toEqual({ source: "ads", visits: 5, tags: ["a", "b"], name: "Ann", city: "Oslo" });
  });
});
