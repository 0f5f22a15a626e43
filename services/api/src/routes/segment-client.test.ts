import { Analytics } from "@segment/analytics-node";
import { createHarness, type Harness } from "@nurture/testkit";
import { afterAll, beforeAll, expect, it } from "vitest";

let h: Harness;
let host: string;
beforeAll(async () => {
  h = await createHarness();
  await h.app.listen({ host: "127.0.0.1", port: 0 });
  const address = h.app.server.address();
  host = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
});
afterAll(async () => h.close());

it("accepts the official Segment Node client pointed at this server", async () => {
  const analytics = new Analytics({ writeKey: h.project.writeKey, host, path: "/v1/batch", flushAt: 10, maxRetries: 1 });
  const errors: unknown[] = [];
  analytics.on("error", (err) => errors.push(err));
  analytics.identify({ anonymousId: "seg-anon", userId: "seg-user", traits: { email: "seg@example.com", plan: "pro" } });
  analytics.track({ userId: "seg-user", event: "Order Completed", properties: { revenue: 42 } });
  analytics.page({ userId: "seg-user", name: "Pricing", properties: { path: "/pricing" } });
  await analytics.closeAndFlush({ timeout: 10_000 });
  expect(errors).toEqual([]);

  const card = (await h.admin({ method: "GET", url: "/v1/users/seg-user" })).json();
  expect(card.properties).toMatchObject({ email: "seg@example.com", plan: "pro" });
  expect(card.anonymousIds).toEqual(["seg-anon"]);
  expect(card.eventStats["Order Completed"].count).toBe(1);
  expect(card.eventStats.$page.count).toBe(1);
});
