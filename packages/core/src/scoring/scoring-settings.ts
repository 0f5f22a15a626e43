import { z } from "zod";
import { DEFAULT_INTEREST_BANDS, type InterestBandThresholds } from "./interest-band";

/** Per-project scoring settings, kept in projects.settings under "scoring". */
export interface ScoringSettings {
  /** Crossing one of these (either way) emits `$score_crossed`. */
  thresholds: number[];
  /** Minimum score for interest bands 1, 2 and 3. */
  interestBands: InterestBandThresholds;
}

export const DEFAULT_SCORING_SETTINGS: ScoringSettings = { thresholds: [10, 30, 60], interestBands: DEFAULT_INTEREST_BANDS };

const scoreValue = z.number().int().min(-1_000_000).max(1_000_000);

export const scoringSettingsSchema = z.strictObject({
  thresholds: z
    .array(scoreValue)
    .max(20)
    .refine((t) => new Set(t).size === t.length, "must not repeat a threshold"),
  interestBands: z
    .tuple([scoreValue, scoreValue, scoreValue])
    .refine(([a, b, c]) => a > b && b > c, "must be strictly descending: [band 1 minimum, band 2 minimum, band 3 minimum]"),
});

export const scoringSettingsPatchSchema = scoringSettingsSchema.partial();

/** Reads the stored section leniently: anything missing or malformed falls back to the defaults. */
export function readScoringSettings(stored: unknown): ScoringSettings {
  const section = stored && typeof stored === "object" ? (stored as Record<string, unknown>) : {};
  const thresholds = scoringSettingsSchema.shape.thresholds.safeParse(section.thresholds);
  const bands = scoringSettingsSchema.shape.interestBands.safeParse(section.interestBands);
  return {
    thresholds: thresholds.success ? thresholds.data : [...DEFAULT_SCORING_SETTINGS.thresholds],
    interestBands: bands.success ? bands.data : DEFAULT_SCORING_SETTINGS.interestBands,
  };
}
