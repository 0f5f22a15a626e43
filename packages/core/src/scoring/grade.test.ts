import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { computeGrade, customerClass, numericValue } from "./grade";
import { gradeModelSchema, type GradeModel, type GradeModelInput } from "./grade-model";
import { interestBand } from "./interest-band";

const input: GradeModelInput = {
  criteria: [
    {
      property: "company.employees",
      type: "number",
      weight: 3,
      ranges: [
        { min: 0, max: 10, points: 20 },
        { min: 10, max: 100, points: 60 },
        { min: 100, points: 100 },
      ],
    },
    {
      property: "industry",
      type: "text",
      weight: 2,
      values: [
        { values: ["SaaS", "fintech"], points: 100 },
        { values: ["retail"], points: 50 },
      ],
      otherwise: 10,
    },
    {
      property: "budget",
      type: "number",
      weight: 5,
      ranges: [
        { max: 1000, points: 0 },
        { min: 1000, max: 10000, points: 50 },
        { min: 10000, points: 100 },
      ],
    },
  ],
};
const model = gradeModelSchema.parse(input);

describe("computeGrade", () => {
  it.each([
    { name: "large SaaS with a big budget", properties: { company: { employees: 500 }, industry: "saas", budget: 50_000 }, total: 100, grade: "A" },
    { name: "small retailer without a budget", properties: { company: { employees: 3 }, industry: "Retail " }, total: 16, grade: "E" },
    { name: "numbers typed as text count", properties: { company: { employees: "50" }, industry: "FinTech", budget: "5000" }, total: 63, grade: "B" },
    { name: "an empty profile gets every otherwise", properties: {}, total: 2, grade: "E" },
    // 3·60 + 2·10 + 5·50 = 450 over 10: exactly on the C boundary.
    { name: "a total on a band's minimum gets that band", properties: { company: { employees: 10 }, industry: "other", budget: 1000 }, total: 45, grade: "C" },
  ])("$name", ({ properties, total, grade }) => {
    expect(computeGrade(model, properties)).toMatchObject({ total, grade });
  });

  it("is null without a model", () => {
    expect(computeGrade(null, { budget: 1 })).toBeNull();
  });

  it("uses renamed bands", () => {
    const named = gradeModelSchema.parse({ ...input, bands: [{ name: "Key", min: 70 }, { name: "Medium", min: 30 }, { name: "Low" }] });
    expect(computeGrade(named, { company: { employees: 500 }, industry: "saas", budget: 50_000 })!.grade).toBe("Key");
    expect(computeGrade(named, {})!.grade).toBe("Low");
  });

  it("always lands between the lowest and highest points and in the band its total says", () => {
    const profile = fc.record({ employees: fc.oneof(fc.integer({ min: -5, max: 1000 }), fc.constant("12"), fc.constant(null)), industry: fc.constantFrom("saas", "retail", "x", 5), budget: fc.option(fc.integer({ min: 0, max: 20_000 })) });
    fc.assert(
      fc.property(profile, (p) => {
        const result = computeGrade(model, { company: { employees: p.employees }, industry: p.industry, ...(p.budget === null ? {} : { budget: p.budget }) })!;
        expect(result.total).toBeGreaterThanOrEqual(0);
        expect(result.total).toBeLessThanOrEqual(100);
        const expected = result.total >= 80 ? "A" : result.total >= 60 ? "B" : result.total >= 40 ? "C" : result.total >= 20 ? "D" : "E";
        expect(result.grade).toBe(expected);
      }),
    );
  });
});

describe("customer class", () => {
  const grade = (properties: Record<string, unknown>) => computeGrade(model, properties)!.grade;
  it("combines grade and interest band: A1, E2, A4", () => {
    expect(customerClass(grade({ company: { employees: 500 }, industry: "saas", budget: 50_000 }), interestBand(75))).toBe("A1");
    expect(customerClass(grade({ company: { employees: 3 }, industry: "retail" }), interestBand(45))).toBe("E2");
    expect(customerClass(grade({ company: { employees: 500 }, industry: "saas", budget: 50_000 }), interestBand(0))).toBe("A4");
    expect(customerClass(null, 1)).toBeNull();
  });
});

describe("grade model validation names the field", () => {
  const pathOf = (body: unknown) => {
    const r = gradeModelSchema.safeParse(body);
    return r.success ? null : r.error.issues.map((i) => i.path.join("."));
  };
  const criterion = (ranges: unknown[]) => ({ criteria: [{ property: "budget", type: "number", weight: 1, ranges }] });
  it.each([
    { name: "range max below min", body: criterion([{ min: 10, max: 5, points: 1 }]), path: "criteria.0.ranges.0.max" },
    { name: "overlapping ranges", body: criterion([{ min: 0, max: 10, points: 1 }, { min: 5, points: 2 }]), path: "criteria.0.ranges.1" },
    { name: "zero weight", body: { criteria: [{ property: "a", type: "number", weight: 0, ranges: [{ points: 1 }] }] }, path: "criteria.0.weight" },
    { name: "unknown type", body: { criteria: [{ property: "a", type: "date", weight: 1 }] }, path: "criteria.0.type" },
    {
      name: "a text value listed twice",
      body: { criteria: [{ property: "a", type: "text", weight: 1, values: [{ values: ["x"], points: 1 }, { values: ["y", " X"], points: 2 }] }] },
      path: "criteria.0.values.1.values.1",
    },
    { name: "two criteria on one property", body: { criteria: [criterion([{ points: 1 }]).criteria[0], criterion([{ points: 1 }]).criteria[0]] }, path: "criteria.1.property" },
    { name: "bands not descending", body: { ...criterion([{ points: 1 }]), bands: [{ name: "A", min: 50 }, { name: "B", min: 60 }, { name: "C" }] }, path: "bands.1.min" },
    { name: "last band with a minimum", body: { ...criterion([{ points: 1 }]), bands: [{ name: "A", min: 50 }, { name: "B", min: 10 }] }, path: "bands.1.min" },
    { name: "duplicate band names", body: { ...criterion([{ points: 1 }]), bands: [{ name: "A", min: 50 }, { name: "A" }] }, path: "bands.1.name" },
  ])("$name → $path", ({ body, path }) => {
    expect(pathOf(body)).toContain(path);
  });

  it("fills the default A–E bands", () => {
    const parsed: GradeModel = gradeModelSchema.parse(criterion([{ points: 1 }]));
    expect(parsed.bands.map((b) => b.name)).toEqual(["A", "B", "C", "D", "E"]);
    expect(parsed.criteria[0]).toMatchObject({ otherwise: 0 });
  });
});

describe("numericValue", () => {
  it.each([
    [5, 5],
    ["5", 5],
    [" -1.5 ", -1.5],
    ["1e3", 1000],
    ["5 apples", null],
    ["", null],
    [true, null],
    [Number.NaN, null],
  ])("%j → %j", (value, expected) => {
    expect(numericValue(value)).toBe(expected);
  });
});
