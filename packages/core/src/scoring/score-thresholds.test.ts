import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { dueExpiries, nextExpiry } from "./score-expiry";
import { interestBand } from "./interest-band";
import { detectCrossings } from "./score-thresholds";
import { readScoringSettings, scoringSettingsSchema } from "./scoring-settings";

describe("detectCrossings", () => {
  const thresholds = [10, 30, 60];
  it.each([
    { before: 0, after: 10, expected: [{ threshold: 10, direction: "up" }] },
    { before: 9, after: 75, expected: [10, 30, 60].map((threshold) => ({ threshold, direction: "up" })) },
    { before: 10, after: 29, expected: [] },
    { before: 30, after: 29, expected: [{ threshold: 30, direction: "down" }] },
    { before: 61, after: -5, expected: [60, 30, 10].map((threshold) => ({ threshold, direction: "down" })) },
    { before: 60, after: 60, expected: [] },
  ])("$before → $after", ({ before, after, expected }) => {
    expect(detectCrossings(before, after, thresholds)).toEqual(expected);
  });

  it("reports exactly the thresholds whose side changed", () => {
    fc.assert(
      fc.property(fc.integer({ min: -100, max: 100 }), fc.integer({ min: -100, max: 100 }), fc.array(fc.integer({ min: -100, max: 100 }), { maxLength: 6 }), (before, after, ts) => {
        const crossed = detectCrossings(before, after, ts).map((c) => c.threshold);
        const expected = [...new Set(ts)].filter((t) => before >= t !== after >= t);
        expect([...crossed].sort((a, b) => a - b)).toEqual(expected.sort((a, b) => a - b));
        for (const c of detectCrossings(before, after, ts)) expect(c.direction).toBe(after > before ? "up" : "down");
      }),
    );
  });
});

describe("interestBand", () => {
  it.each([
    [100, 1],
    [60, 1],
    [59, 2],
    [30, 2],
    [10, 3],
    [9, 4],
    [-10, 4],
  ])("score %i is band %i with the default thresholds", (score, band) => {
    expect(interestBand(score)).toBe(band);
  });

  it("takes configured thresholds", () => {
    expect(interestBand(5, [20, 10, 5])).toBe(3);
    expect(interestBand(20, [20, 10, 5])).toBe(1);
  });

  it("never gets hotter as the score falls", () => {
    fc.assert(
      fc.property(fc.integer({ min: -500, max: 500 }), fc.integer({ min: 0, max: 50 }), (s, d) => {
        expect(interestBand(s - d)).toBeGreaterThanOrEqual(interestBand(s));
      }),
    );
  });
});

describe("scoring settings", () => {
  it("rejects bands that are not strictly descending", () => {
    const result = scoringSettingsSchema.safeParse({ thresholds: [], interestBands: [10, 30, 60] });
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]!.path).toEqual(["interestBands"]);
  });

  it("falls back to defaults for a malformed stored section", () => {
    expect(readScoringSettings({ thresholds: "x", interestBands: [1, 2, 3] })).toEqual({ thresholds: [10, 30, 60], interestBands: [60, 30, 10] });
    expect(readScoringSettings({ thresholds: [5], interestBands: [9, 8, 7] })).toEqual({ thresholds: [5], interestBands: [9, 8, 7] });
  });
});

describe("expiry", () => {
  const pending = [{ expiresAt: new Date("2026-02-01T00:00Z") }, { expiresAt: new Date("2026-01-01T00:00Z") }, { expiresAt: new Date("2026-03-01T00:00Z") }];
  it("finds what is due (inclusive) and what comes next", () => {
    const now = new Date("2026-02-01T00:00Z");
    expect(dueExpiries(pending, now).map((p) => p.expiresAt.toISOString().slice(0, 10))).toEqual(["2026-01-01", "2026-02-01"]);
    expect(nextExpiry(pending, now)?.toISOString()).toBe("2026-03-01T00:00:00.000Z");
    expect(nextExpiry(pending, new Date("2026-03-01T00:00Z"))).toBeNull();
  });
});
