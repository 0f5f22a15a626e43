import { z } from "zod";
import { isSafeKey } from "../json-safety";

/** `min ≤ value < max`; a missing end is open. */
export interface NumberRange {
  min?: number;
  max?: number;
  points: number;
}
export interface NumberCriterion {
  property: string;
  type: "number";
  /** Relevance: how much this criterion counts against the others. */
  weight: number;
  ranges: NumberRange[];
  /** Points when the property is missing, not a number, or in no range. */
  otherwise: number;
}
export interface TextOption {
  /** Compared trimmed and case-insensitively. */
  values: string[];
  points: number;
}
export interface TextCriterion {
  property: string;
  type: "text";
  weight: number;
  values: TextOption[];
  otherwise: number;
}
export type GradeCriterion = NumberCriterion | TextCriterion;

/** Bands best first; a total at or above `min` gets the band. The last band has no minimum. */
export interface GradeBand {
  name: string;
  min: number | null;
}
export interface GradeModel {
  criteria: GradeCriterion[];
  bands: GradeBand[];
}

export const DEFAULT_GRADE_BANDS: GradeBand[] = [
  { name: "A", min: 80 },
  { name: "B", min: 60 },
  { name: "C", min: 40 },
  { name: "D", min: 20 },
  { name: "E", min: null },
];

export const GRADE_LIMITS = { maxCriteria: 30, maxOptions: 50, maxValues: 200, maxBands: 10, maxPoints: 1000, maxWeight: 100 } as const;

const storable = (s: string) => s.isWellFormed() && !s.includes("\u0000");
const propertyPath = z
  .string()
  .min(1)
  .max(200)
  .refine((p) => storable(p) && p.split(".").length <= 8 && p.split(".").every((s) => s.length > 0 && isSafeKey(s)), 'must be a property name or a dotted path such as "company.size"');
const points = z.number().min(-GRADE_LIMITS.maxPoints).max(GRADE_LIMITS.maxPoints);
const weight = z.number().gt(0).max(GRADE_LIMITS.maxWeight);

const numberRange = z
  .strictObject({ min: z.number().optional(), max: z.number().optional(), points })
  .refine((r) => r.min === undefined || r.max === undefined || r.min < r.max, { message: "must be greater than min", path: ["max"] });

const overlaps = (a: NumberRange, b: NumberRange) => (a.min ?? -Infinity) < (b.max ?? Infinity) && (b.min ?? -Infinity) < (a.max ?? Infinity);

const numberCriterion = z
  .strictObject({ property: propertyPath, type: z.literal("number"), weight, ranges: z.array(numberRange).min(1).max(GRADE_LIMITS.maxOptions), otherwise: points.default(0) })
  .superRefine((c, ctx) => {
    c.ranges.forEach((range, j) => {
      const k = c.ranges.slice(0, j).findIndex((earlier) => overlaps(earlier, range));
      if (k >= 0) ctx.addIssue({ code: "custom", path: ["ranges", j], message: `overlaps range ${k}` });
    });
  });

const normalizeText = (s: string) => s.trim().toLowerCase();
const textOption = z.strictObject({
  values: z.array(z.string().trim().min(1).max(200).refine(storable, "must be valid Unicode text")).min(1).max(GRADE_LIMITS.maxValues),
  points,
});
const textCriterion = z
  .strictObject({ property: propertyPath, type: z.literal("text"), weight, values: z.array(textOption).min(1).max(GRADE_LIMITS.maxOptions), otherwise: points.default(0) })
  .superRefine((c, ctx) => {
    const seen = new Map<string, number>();
    c.values.forEach((option, i) =>
      option.values.forEach((value, k) => {
        const key = normalizeText(value);
        const earlier = seen.get(key);
        if (earlier !== undefined) ctx.addIssue({ code: "custom", path: ["values", i, "values", k], message: `"${value}" is already listed in option ${earlier}` });
        else seen.set(key, i);
      }),
    );
  });

const criterion = z.discriminatedUnion("type", [numberCriterion, textCriterion], { error: "type must be number or text" });

const band = z.strictObject({
  name: z.string().trim().min(1).max(50).refine(storable, "must be valid Unicode text"),
  min: z.number().nullable().optional(),
});

/** The model as the API accepts it; every semantic error names its field path. */
export const gradeModelSchema = z
  .strictObject({
    criteria: z.array(criterion).min(1).max(GRADE_LIMITS.maxCriteria),
    bands: z.array(band).min(2).max(GRADE_LIMITS.maxBands).optional(),
  })
  .superRefine((model, ctx) => {
    const properties = new Map<string, number>();
    model.criteria.forEach((c, i) => {
      const earlier = properties.get(c.property);
      if (earlier !== undefined) ctx.addIssue({ code: "custom", path: ["criteria", i, "property"], message: `criterion ${earlier} already reads "${c.property}"` });
      else properties.set(c.property, i);
    });
    const bands = model.bands;
    if (!bands) return;
    const names = new Map<string, number>();
    bands.forEach((b, i) => {
      const earlier = names.get(b.name);
      if (earlier !== undefined) ctx.addIssue({ code: "custom", path: ["bands", i, "name"], message: `band ${earlier} is already named "${b.name}"` });
      else names.set(b.name, i);
      const last = i === bands.length - 1;
      if (last && b.min !== undefined && b.min !== null) ctx.addIssue({ code: "custom", path: ["bands", i, "min"], message: "the last band takes every lower total: leave min out" });
      if (!last && (b.min === undefined || b.min === null)) ctx.addIssue({ code: "custom", path: ["bands", i, "min"], message: "is required for every band but the last" });
      const prev = bands[i - 1]?.min;
      if (!last && i > 0 && typeof b.min === "number" && typeof prev === "number" && b.min >= prev)
        ctx.addIssue({ code: "custom", path: ["bands", i, "min"], message: `must be lower than the previous band's min (${prev})` });
    });
  })
  .transform(
    (model): GradeModel => ({
      criteria: model.criteria as GradeCriterion[],
      bands: model.bands ? model.bands.map((b) => ({ name: b.name, min: b.min ?? null })) : DEFAULT_GRADE_BANDS.map((b) => ({ ...b })),
    }),
  );
export type GradeModelInput = z.input<typeof gradeModelSchema>;
