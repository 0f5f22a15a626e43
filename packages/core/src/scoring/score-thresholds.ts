export type CrossingDirection = "up" | "down";

export interface ScoreCrossing {
  threshold: number;
  direction: CrossingDirection;
}

/**
 * The thresholds the score passed going from `before` to `after`. Reaching a threshold counts as
 * crossing it upward (before < t ≤ after); falling below it counts as crossing downward
 * (after < t ≤ before). Upward crossings come lowest first, downward highest first — the order the
 * score passed them.
 */
export function detectCrossings(before: number, after: number, thresholds: readonly number[]): ScoreCrossing[] {
  const sorted = [...new Set(thresholds)].sort((a, b) => a - b);
  if (after > before) return sorted.filter((t) => before < t && t <= after).map((threshold) => ({ threshold, direction: "up" as const }));
  if (after < before)
    return sorted
      .filter((t) => after < t && t <= before)
      .reverse()
      .map((threshold) => ({ threshold, direction: "down" as const }));
  return [];
}
