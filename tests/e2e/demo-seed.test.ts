import { campaignInputSchema, lifecycleSettingsSchema, scoringRuleInputSchema } from "@nurture/core";
import { describe, expect, it } from "vitest";
import { DEMO_LIFECYCLE, DEMO_SCORING_RULES, DEMO_TIMINGS, demoCampaigns } from "../../examples/demo-shop/campaigns";

describe("the demo shop's seed data", () => {
  it("is three valid campaigns: welcome popup, payment-step chat, abandoned-checkout email", () => {
    const campaigns = demoCampaigns({ shopUrl: "http://127.0.0.1:4000/", ...DEMO_TIMINGS });
    const parsed = campaigns.map((c) => campaignInputSchema.safeParse(c));
    expect(parsed.map((p) => (p.success ? "ok" : p.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")))).toEqual(["ok", "ok", "ok"]);
    expect(campaigns.map((c) => c.steps[0]?.channel)).toEqual(["popup", "chat", "email"]);
    expect(JSON.stringify(campaigns)).toContain("http://127.0.0.1:4000/checkout.html");
  });

  it("has valid scoring rules and lifecycle settings", () => {
    for (const rule of DEMO_SCORING_RULES) expect(scoringRuleInputSchema.safeParse(rule).success).toBe(true);
    expect(lifecycleSettingsSchema.safeParse(DEMO_LIFECYCLE).success).toBe(true);
  });
});
