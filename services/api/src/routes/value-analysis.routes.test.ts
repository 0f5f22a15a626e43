import { createHarness, type Harness } from "@nurture/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let h: Harness;
beforeAll(async () => {
  h = await createHarness({ worker: true });
  h.clock.set("2026-06-01T00:00:00Z");
});
afterAll(async () => h.close());

const card = async (id: string) => (await h.admin({ method: "GET", url: `/v1/users/${encodeURIComponent(id)}` })).json();
const scoring = async (id: string) => (await card(id)).scoring;
const batch = async (messages: Record<string, unknown>[]) => {
  const res = await h.track("/v1/batch", { batch: messages });
  expect(res.statusCode).toBe(200);
  return res.json();
};

describe("customer value (ABC/XYZ)", () => {
  it("matches a brute-force classification and stores the classes on the cards", async () => {
    // A pseudo-random but fixed data set: 60 customers, 1–8 purchases each, whole-number revenues.
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed % n;
    };
    const customers = Array.from({ length: 60 }, (_, i) => ({ userId: `buyer-${i}`, orders: Array.from({ length: 1 + rand(8) }, () => 1 + rand(i % 7 === 0 ? 5000 : 300)) }));
    const messages: Record<string, unknown>[] = [];
    customers.forEach((c, i) =>
      c.orders.forEach((revenue, k) =>
        messages.push({
          type: "track",
          userId: c.userId,
          event: "order_completed",
          // Every fifth order carries its revenue as text, as form-fed shops send it.
          properties: { revenue: k % 5 === 4 ? String(revenue) : revenue },
          timestamp: `2026-04-${String(1 + ((i + k) % 28)).padStart(2, "0")}T12:00:00Z`,
        }),
      ),
    );
    // Outside the period, and a different event: neither counts.
    messages.push({ type: "track", userId: "buyer-0", event: "order_completed", properties: { revenue: 99_999 }, timestamp: "2026-03-31T23:59:59Z" });
    messages.push({ type: "track", userId: "buyer-1", event: "order_refunded", properties: { revenue: 99_999 }, timestamp: "2026-04-10T12:00:00Z" });
    messages.push({ type: "identify", userId: "window-shopper", traits: { name: "No orders" } });
    for (let i = 0; i < messages.length; i += 100) await batch(messages.slice(i, i + 100));
    await h.drain();
    await h.db.updateTable("users").set({ value_class: "AX" }).where("user_id", "=", "window-shopper").execute();

    // Brute force: each customer's class from the customers ranked before it, by definition.
    const totals = customers.map((c) => ({ userId: c.userId, revenue: c.orders.reduce((s, r) => s + r, 0), purchases: c.orders.length }));
    const internalIds = new Map<string, number>();
    for (const c of totals) internalIds.set(c.userId, Number((await card(c.userId)).id));
    const classOf = (c: (typeof totals)[number], key: "revenue" | "purchases", letters: string) => {
      const total = totals.reduce((s, o) => s + o[key], 0);
      const before = totals.filter((o) => o[key] > c[key] || (o[key] === c[key] && internalIds.get(o.userId)! < internalIds.get(c.userId)!)).reduce((s, o) => s + o[key], 0);
      return 100 * before < 80 * total ? letters[0] : 100 * before < 95 * total ? letters[1] : letters[2];
    };
    const expected = new Map(totals.map((c) => [c.userId, classOf(c, "revenue", "ABC")! + classOf(c, "purchases", "XYZ")!]));
    const cells: Record<string, { customers: number; revenue: number; purchases: number }> = {};
    for (const a of "ABC") for (const x of "XYZ") cells[a + x] = { customers: 0, revenue: 0, purchases: 0 };
    for (const c of totals) {
      const cell = cells[expected.get(c.userId)!]!;
      cell.customers += 1;
      cell.revenue += c.revenue;
      cell.purchases += c.purchases;
    }

    const golden = (await h.admin({ method: "POST", url: "/v1/segments", payload: { name: "Golden customers", condition: { valueClass: { op: "in", values: ["AX", "AY"] } } } })).json();
    // Only the window shopper, whose stale "AX" the analysis will clear.
    expect(golden.members).toBe(1);

    const res = await h.admin({
      method: "POST",
      url: "/v1/analysis/abc-xyz",
      payload: { purchaseEvent: "order_completed", revenueProperty: "revenue", from: "2026-04-01", to: "2026-05-01T00:00:00Z", store: true },
    });
    expect(res.statusCode).toBe(200);
    const result = res.json();
    expect(result.cells).toEqual(cells);
    expect(result).toMatchObject({ customers: 60, purchases: totals.reduce((s, c) => s + c.purchases, 0), revenue: totals.reduce((s, c) => s + c.revenue, 0), stored: true });
    expect(result.cells.AX.customers).toBeGreaterThan(0);

    for (const c of totals) expect([c.userId, (await scoring(c.userId)).valueClass]).toEqual([c.userId, expected.get(c.userId)]);
    expect((await scoring("window-shopper")).valueClass).toBeNull();
    // Changed cards get a pipeline run (the sweeper finds their tick), so segments on valueClass follow.
    await h.worker!.sweep();
    await h.drain();
    const goldenCount = [...expected.values()].filter((c) => c === "AX" || c === "AY").length;
    expect((await h.admin({ method: "GET", url: `/v1/segments/${golden.id}` })).json().members).toBe(goldenCount);
    expect((await h.admin({ method: "GET", url: "/v1/analysis/abc-xyz" })).json().items[0]).toMatchObject({ id: result.id, stored: true });

    // Other cut-offs, not stored: the cards keep the stored classes.
    const tight = (await h.admin({ method: "POST", url: "/v1/analysis/abc-xyz", payload: { purchaseEvent: "order_completed", revenueProperty: "revenue", from: "2026-04-01", to: "2026-05-01", cutoffs: { abc: [50, 90], xyz: [50, 90] } } })).json();
    expect(tight.cells.AX.customers + tight.cells.AY.customers + tight.cells.AZ.customers).toBeLessThan(result.cells.AX.customers + result.cells.AY.customers + result.cells.AZ.customers);
    expect((await scoring("buyer-0")).valueClass).toBe(expected.get("buyer-0"));
  });
});
