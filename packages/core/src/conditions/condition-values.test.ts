import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { dayKeyOfEpochDay, epochDay, epochDayOfKey, parseIsoDate, readPath, utcDayKey, windowBounds } from "./condition-values";

describe("recognising dates in properties", () => {
  it.each<[string, string | null]>([
    ["2024-05-01", "2024-05-01T00:00:00.000Z"],
    ["2024-05-01T10:20", "2024-05-01T10:20:00.000Z"],
    ["2024-05-01T10:20:30Z", "2024-05-01T10:20:30.000Z"],
    ["2024-05-01 10:20:30", "2024-05-01T10:20:30.000Z"],
    ["2024-05-01T10:20:30.5Z", "2024-05-01T10:20:30.500Z"],
    ["2024-05-01T10:20:30.123456Z", "2024-05-01T10:20:30.123Z"],
    ["2024-05-01T10:20:30+02:00", "2024-05-01T08:20:30.000Z"],
    ["2024-05-01T00:30:00-05:30", "2024-05-01T06:00:00.000Z"],
    ["2024-02-29", "2024-02-29T00:00:00.000Z"],
    ["2023-02-29", null],
    ["2024-04-31", null],
    ["2024-13-01", null],
    ["2024-05-01T24:00:00Z", null],
    ["2024-05-01T10:60", null],
    ["2024-05-01T10:00:00+24:00", null],
    ["2024-05-01Z", null],
    ["20240501", null],
    ["0999-01-01", null],
    ["May 1, 2024", null],
    [" 2024-05-01", null],
    ["", null],
  ])("%s", (text, expected) => {
    const parsed = parseIsoDate(text);
    expect(parsed === null ? null : new Date(parsed).toISOString()).toBe(expected);
  });

  it("agrees with the platform on every ISO timestamp", () => {
    fc.assert(
      fc.property(fc.date({ min: new Date("1000-01-01T00:00:00Z"), max: new Date("9999-12-31T23:59:59Z"), noInvalidDate: true }), (d) => {
        expect(parseIsoDate(d.toISOString())).toBe(d.getTime());
      }),
    );
  });
});

describe("UTC day keys", () => {
  it("match the calendar day of the instant", () => {
    fc.assert(
      fc.property(fc.date({ min: new Date("1000-01-01T00:00:00Z"), max: new Date("9999-12-31T23:59:59Z"), noInvalidDate: true }), (d) => {
        expect(utcDayKey(d)).toBe(d.toISOString().slice(0, 10));
        expect(epochDayOfKey(utcDayKey(d))).toBe(epochDay(d.getTime()));
        expect(dayKeyOfEpochDay(epochDay(d.getTime()))).toBe(d.toISOString().slice(0, 10));
      }),
    );
  });

  it("a window of N days is today and the N-1 days before it", () => {
    expect(windowBounds(Date.parse("2024-03-01T00:00:00Z"), 2)).toEqual({ low: "2024-02-28", high: "2024-03-01" });
    expect(windowBounds(Date.parse("2024-03-01T23:59:59.999Z"), 1)).toEqual({ low: "2024-02-29", high: "2024-03-01" });
  });
});

describe("reading property paths", () => {
  it("descends objects but never indexes arrays", () => {
    const props = { company: { plan: { name: "pro" } }, list: [{ a: 1 }], "0": "zero" };
    expect(readPath(props, ["company", "plan", "name"])).toBe("pro");
    expect(readPath(props, ["list", "0"])).toBeUndefined();
    expect(readPath(props, ["0"])).toBe("zero");
    expect(readPath(props, ["company", "toString"])).toBeUndefined();
  });
});
