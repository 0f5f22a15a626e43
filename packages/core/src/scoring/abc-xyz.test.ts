import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { abcXyzCutoffsSchema, abcXyzMatrix, classifyAbcXyz, type CustomerTotals } from "./abc-xyz";

describe("classifyAbcXyz", () => {
  it("puts the customers bringing the first 80% of revenue in A, the next 15% in B", () => {
    // Revenue 50, 30, 10, 6, 4 of 100: before each: 0, 50, 80, 90, 96.
    const customers: CustomerTotals[] = [
      { id: 1, revenue: 50, purchases: 1 },
      { id: 2, revenue: 30, purchases: 1 },
      { id: 3, revenue: 10, purchases: 1 },
      { id: 4, revenue: 6, purchases: 1 },
      { id: 5, revenue: 4, purchases: 1 },
    ];
    expect(classifyAbcXyz(customers).map((c) => c.abc)).toEqual(["A", "A", "B", "B", "C"]);
    // Equal purchase counts rank by id: before each 0, 1, 2, 3, 4 of 5 → 0%, 20%, 40%, 60%, 80%.
    expect(classifyAbcXyz(customers).map((c) => c.xyz)).toEqual(["X", "X", "X", "X", "Y"]);
  });

  it("keeps a customer holding 90% in A", () => {
    expect(classifyAbcXyz([{ id: 1, revenue: 90, purchases: 9 }, { id: 2, revenue: 10, purchases: 1 }]).map((c) => c.abc + c.xyz)).toEqual(["AX", "BY"]);
  });

  it("puts everyone in C when there is no revenue", () => {
    expect(classifyAbcXyz([{ id: 1, revenue: 0, purchases: 2 }]).map((c) => c.abc + c.xyz)).toEqual(["CX"]);
  });

  it("uses configured cut-offs", () => {
    const customers = [1, 2, 3, 4].map((id) => ({ id, revenue: 25, purchases: 1 }));
    expect(classifyAbcXyz(customers, { abc: [50, 75], xyz: [80, 95] }).map((c) => c.abc)).toEqual(["A", "A", "B", "C"]);
  });

  it("matches the definition computed by brute force", () => {
    const customersArb = fc.uniqueArray(fc.record({ id: fc.integer({ min: 1, max: 500 }), revenue: fc.integer({ min: 0, max: 1000 }), purchases: fc.integer({ min: 1, max: 20 }) }), {
      selector: (c) => c.id,
      maxLength: 60,
    });
    const cutArb = fc.tuple(fc.integer({ min: 1, max: 98 }), fc.integer({ min: 1, max: 98 })).map(([a, b]) => [Math.min(a, b), Math.max(a, b) + 1] as [number, number]);
    fc.assert(
      fc.property(customersArb, cutArb, cutArb, (customers, abc, xyz) => {
        const result = classifyAbcXyz(customers, { abc, xyz });
        for (const c of result) {
          const revenueTotal = customers.reduce((s, o) => s + o.revenue, 0);
          const before = customers.filter((o) => o.revenue > c.revenue || (o.revenue === c.revenue && o.id < c.id)).reduce((s, o) => s + o.revenue, 0);
          const share = revenueTotal === 0 ? 100 : (100 * before) / revenueTotal;
          expect(c.abc).toBe(revenueTotal > 0 && share < abc[0] ? "A" : revenueTotal > 0 && share < abc[1] ? "B" : "C");
        }
        const matrix = abcXyzMatrix(result);
        expect(Object.values(matrix).reduce((s, cell) => s + cell.customers, 0)).toBe(customers.length);
      }),
    );
  });

  it("validates cut-offs with the field path", () => {
    const r = abcXyzCutoffsSchema.safeParse({ abc: [95, 80], xyz: [80, 95] });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.path).toEqual(["abc", 1]);
  });
});
