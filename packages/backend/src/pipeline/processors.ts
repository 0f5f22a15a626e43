import { campaignTriggerProcessor } from "../messaging/campaign-trigger.processor";
import { scoringProcessor } from "../scoring/score-processor";
import { segmentsProcessor } from "../segments/segments.processor";
import type { Processor } from "./pipeline.types";

/**
 * The rule engine's steps, in order: what a step writes onto the card (score, segments, stage)
 * is what the steps after it read. Features register their processor here.
 */
export const processors: { name: string; run: Processor }[] = [
  // First: segments and triggers read the score and grade it writes.
  { name: "scoring", run: scoringProcessor },
  // Then counters, lifecycle stage and segment membership; triggers read what they emit.
  { name: "segments", run: segmentsProcessor },
  // Last: campaign triggers see this run's events and everything the steps above emitted.
  { name: "triggers", run: campaignTriggerProcessor },
];
