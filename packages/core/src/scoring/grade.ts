import { readPath, splitPropertyPath } from "../conditions";
import type { Properties } from "../property-ops";
import type { GradeCriterion, GradeModel, NumberCriterion, TextCriterion } from "./grade-model";
import type { InterestBand } from "./interest-band";

export interface GradeResult {
  /** The weighted total: Σ weight·points ÷ Σ weight, rounded to 6 decimals. */
  total: number;
  grade: string;
  /** Points per criterion, in model order (for explaining a grade). */
  points: number[];
}

/** Numbers, and strings that are plainly numbers ("250", " -1.5 "), since form fields arrive as text. */
const NUMERIC_TEXT = /^-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/;
export function numericValue(value: unknown): number | null {
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (typeof value === "string" && NUMERIC_TEXT.test(value.trim())) return Number(value.trim());
  return null;
}

/** Strings and booleans, trimmed and lower-cased. */
export function textValue(value: unknown): string | null {
  if (typeof value === "string") return value.trim().toLowerCase();
  if (typeof value === "boolean") return String(value);
  return null;
}

function numberPoints(c: NumberCriterion, value: unknown): number {
  const v = numericValue(value);
  if (v === null) return c.otherwise;
  const range = c.ranges.find((r) => (r.min === undefined || v >= r.min) && (r.max === undefined || v < r.max));
  return range ? range.points : c.otherwise;
}

function textPoints(c: TextCriterion, value: unknown): number {
  const v = textValue(value);
  if (v === null) return c.otherwise;
  const option = c.values.find((o) => o.values.some((candidate) => candidate.trim().toLowerCase() === v));
  return option ? option.points : c.otherwise;
}

export function criterionPoints(c: GradeCriterion, properties: Properties): number {
  const value = readPath(properties, splitPropertyPath(c.property));
  return c.type === "number" ? numberPoints(c, value) : textPoints(c, value);
}

/** The band a weighted total falls into: the first whose minimum it reaches, else the last. */
export function gradeBand(model: GradeModel, total: number): string {
  for (const band of model.bands) if (band.min !== null && total >= band.min) return band.name;
  return model.bands[model.bands.length - 1]!.name;
}

/** Grades a profile; null when there is no model (or it has no criteria). */
export function computeGrade(model: GradeModel | null, properties: Properties): GradeResult | null {
  if (!model || model.criteria.length === 0 || model.bands.length === 0) return null;
  const points = model.criteria.map((c) => criterionPoints(c, properties));
  let weighted = 0;
  let weights = 0;
  model.criteria.forEach((c, i) => {
    weighted += c.weight * points[i]!;
    weights += c.weight;
  });
  // Rounding keeps band edges stable: 3·80 + 2·30 over 5 must be exactly 60, not 59.99999999.
  const total = Math.round((weighted / weights) * 1e6) / 1e6;
  return { total, grade: gradeBand(model, total), points };
}

/** The card's class: grade letter then interest band ("A1", "E2"); null without a grade. */
export function customerClass(grade: string | null, band: InterestBand): string | null {
  return grade === null ? null : `${grade}${band}`;
}
