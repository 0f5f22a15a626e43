import type { CampaignStatus } from "./campaign.schema";

const TRANSITIONS: Record<CampaignStatus, readonly CampaignStatus[]> = {
  draft: ["active", "archived"],
  active: ["paused", "archived"],
  paused: ["active", "archived"],
  archived: [],
};

export function canTransition(from: CampaignStatus, to: CampaignStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

export function allowedTransitions(from: CampaignStatus): readonly CampaignStatus[] {
  return TRANSITIONS[from];
}
