import { describe, expect, it } from "vitest";
import { quietHoursEnd, startOfLocalDay, zonedInstant } from "./quiet-hours";

const night = { start: "21:00", end: "08:00", channels: ["email" as const] };
const lunch = { start: "12:00", end: "14:00", channels: ["email" as const, "popup" as const] };

describe("quiet hours in the project's time zone", () => {
  it.each([
    ["evening inside a midnight-spanning window", "2026-01-15T21:30:00Z", "Europe/London", night, "2026-01-16T08:00:00.000Z"],
    ["early morning inside it", "2026-01-16T03:00:00Z", "Europe/London", night, "2026-01-16T08:00:00.000Z"],
    ["daytime outside it", "2026-01-16T10:00:00Z", "Europe/London", night, null],
    ["exactly at the end", "2026-01-16T08:00:00Z", "Europe/London", night, null],
    ["exactly at the start", "2026-01-16T21:00:00Z", "Europe/London", night, "2026-01-17T08:00:00.000Z"],
    ["in another zone (Berlin, UTC+1 in winter)", "2026-01-15T20:30:00Z", "Europe/Berlin", night, "2026-01-16T07:00:00.000Z"],
    ["in New York (UTC-5 in winter), 23:00 local", "2026-01-16T04:00:00Z", "America/New_York", night, "2026-01-16T13:00:00.000Z"],
    ["across the spring DST change (Berlin, 31 March)", "2024-03-30T22:00:00Z", "Europe/Berlin", night, "2024-03-31T06:00:00.000Z"],
    ["a same-day window", "2026-01-16T12:30:00Z", "UTC", lunch, "2026-01-16T14:00:00.000Z"],
    ["a same-day window, outside", "2026-01-16T14:30:00Z", "UTC", lunch, null],
    ["a year-end evening", "2026-12-31T22:00:00Z", "UTC", night, "2027-01-01T08:00:00.000Z"],
  ])("%s", (_name, now, zone, quiet, expected) => {
    const end = quietHoursEnd(new Date(now), zone, quiet, "email");
    expect(end?.toISOString() ?? null).toBe(expected);
  });

  it("ignores channels the window does not cover, and no window at all", () => {
    expect(quietHoursEnd(new Date("2026-01-16T03:00:00Z"), "UTC", night, "popup")).toBeNull();
    expect(quietHoursEnd(new Date("2026-01-16T03:00:00Z"), "UTC", null, "email")).toBeNull();
  });

  it("finds local midnight and wall-clock instants, DST included", () => {
    expect(startOfLocalDay(new Date("2026-07-01T01:30:00Z"), "Europe/Berlin").toISOString()).toBe("2026-06-30T22:00:00.000Z");
    expect(startOfLocalDay(new Date("2026-07-01T01:30:00Z"), "America/Los_Angeles").toISOString()).toBe("2026-06-30T07:00:00.000Z");
    // 02:30 does not exist in Berlin on 2024-03-31: past the gap.
    expect(zonedInstant(2024, 3, 31, 2, 30, "Europe/Berlin").toISOString()).toBe("2024-03-31T01:30:00.000Z");
    // 02:30 happens twice on 2024-10-27: the earlier one (summer time).
    expect(zonedInstant(2024, 10, 27, 2, 30, "Europe/Berlin").toISOString()).toBe("2024-10-27T00:30:00.000Z");
  });
});
