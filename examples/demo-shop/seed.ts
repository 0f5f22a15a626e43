import type { LifecycleSettingsInput } from "@nurture/core";
import type { DemoCampaign, DemoScoringRule } from "./campaigns";

export interface SeededCampaign {
  name: string;
  id?: string;
  outcome: "created" | "already there" | "failed";
  detail?: string;
}

export interface SeedResult {
  /** False while the campaigns API (issue 5) is not in this build. */
  available: boolean;
  campaigns: SeededCampaign[];
}

interface SeedOptions {
  apiUrl: string;
  secretKey: string;
  campaigns: DemoCampaign[];
}

const admin = (apiUrl: string, secretKey: string) => (method: string, path: string, body?: unknown) =>
  fetch(`${apiUrl.replace(/\/+$/, "")}${path}`, {
    method,
    headers: { authorization: `Bearer ${secretKey}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

/** Names the shop's lifecycle events; false while lifecycle stages are not in this build. */
export async function seedDemoLifecycle({ apiUrl, secretKey, settings }: { apiUrl: string; secretKey: string; settings: LifecycleSettingsInput }): Promise<boolean> {
  const saved = await admin(apiUrl, secretKey)("PUT", "/v1/lifecycle/settings", settings);
  if (saved.status === 404) return false;
  if (!saved.ok) throw new Error(`saving the lifecycle settings failed: HTTP ${saved.status} ${await saved.text()}`);
  return true;
}

/**
 * Loads the default scoring rules plus the shop's own, skipping rules that exist by name.
 * Returns false while the scoring API is not in this build.
 */
export async function seedDemoScoring({ apiUrl, secretKey, rules }: { apiUrl: string; secretKey: string; rules: DemoScoringRule[] }): Promise<boolean> {
  const call = admin(apiUrl, secretKey);
  const defaults = await call("POST", "/v1/scoring-rules/defaults", {});
  if (defaults.status === 404) return false;
  if (!defaults.ok) throw new Error(`loading the default scoring rules failed: HTTP ${defaults.status} ${await defaults.text()}`);
  const { items } = (await defaults.json()) as { items: Array<{ name: string }> };
  for (const rule of rules) {
    if (items.some((r) => r.name === rule.name)) continue;
    const created = await call("POST", "/v1/scoring-rules", rule);
    if (!created.ok) throw new Error(`scoring rule "${rule.name}": HTTP ${created.status} ${await created.text()}`);
  }
  return true;
}

/**
 * Creates and activates the demo campaigns through the public admin API, skipping those that
 * exist by name, so `npm run demo` can run again without duplicates.
 * Campaigns are created as drafts and activated with `POST /v1/campaigns/:id/status`.
 */
export async function seedDemoCampaigns({ apiUrl, secretKey, campaigns }: SeedOptions): Promise<SeedResult> {
  const call = admin(apiUrl, secretKey);

  const listed = await call("GET", "/v1/campaigns");
  if (listed.status === 404) return { available: false, campaigns: [] };
  if (!listed.ok) throw new Error(`GET /v1/campaigns answered ${listed.status}: ${await listed.text()}`);
  const list = (await listed.json()) as { items?: Array<{ id: string; name: string }> } | Array<{ id: string; name: string }>;
  const existing = new Map((Array.isArray(list) ? list : (list.items ?? [])).map((c) => [c.name, c.id]));

  const results: SeededCampaign[] = [];
  for (const campaign of campaigns) {
    const known = existing.get(campaign.name);
    if (known) {
      results.push({ name: campaign.name, id: known, outcome: "already there" });
      continue;
    }
    const created = await call("POST", "/v1/campaigns", campaign);
    const body = (await created.json().catch(() => ({}))) as { id?: string; campaign?: { id?: string }; error?: { message?: string } };
    const id = body.id ?? body.campaign?.id;
    if (!created.ok || !id) {
      results.push({ name: campaign.name, outcome: "failed", detail: body.error?.message ?? `HTTP ${created.status}` });
      continue;
    }
    const activated = await call("POST", `/v1/campaigns/${id}/status`, { status: "active" });
    results.push(
      activated.ok
        ? { name: campaign.name, id, outcome: "created" }
        : { name: campaign.name, id, outcome: "failed", detail: `created but not activated: HTTP ${activated.status} ${await activated.text()}` },
    );
  }
  return { available: true, campaigns: results };
}
