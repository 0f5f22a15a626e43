/** 1 = hottest … 4 = coldest. */
export type InterestBand = 1 | 2 | 3 | 4;

/** Minimum score for bands 1, 2 and 3 (strictly descending); anything below the last is band 4. */
export type InterestBandThresholds = readonly [number, number, number];

export const DEFAULT_INTEREST_BANDS: InterestBandThresholds = [60, 30, 10];

export function interestBand(score: number, thresholds: InterestBandThresholds = DEFAULT_INTEREST_BANDS): InterestBand {
  if (score >= thresholds[0]) return 1;
  if (score >= thresholds[1]) return 2;
  if (score >= thresholds[2]) return 3;
  return 4;
}
