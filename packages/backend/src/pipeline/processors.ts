import type { Processor } from "./pipeline.types";

/**
 * The rule engine's steps, in order: what a step writes onto the card (score, segments, stage)
 * is what the steps after it read. Features register their processor here.
 */
export const processors: { name: string; run: Processor }[] = [];
