import { describe, expect, it } from "vitest";
import { correctTimestamp } from "./clock-skew";

const receivedAt = new Date("2026-06-01T12:00:00Z");

describe("clock-skew correction", () => {
  it("shifts the event by the difference between the client's sentAt and our receivedAt", () => {
    const at = correctTimestamp({ timestamp: new Date("2026-06-01T12:55:00Z"), sentAt: new Date("2026-06-01T13:00:00Z"), receivedAt });
    expect(at.toISOString()).toBe("2026-06-01T11:55:00.000Z");
  });

  it("keeps the timestamp when there is no sentAt, and uses receivedAt when there is no timestamp", () => {
    expect(correctTimestamp({ timestamp: new Date("2025-01-01T00:00:00Z"), receivedAt }).toISOString()).toBe("2025-01-01T00:00:00.000Z");
    expect(correctTimestamp({ receivedAt })).toBe(receivedAt);
  });

  it.each([
    ["before 1970", "0001-01-01T00:00:00Z", undefined],
    ["far in the future", "9999-12-31T23:59:59Z", undefined],
    ["pushed out of range by an absurd sentAt", "9999-12-31T23:59:59Z", "1970-01-01T00:00:00Z"],
  ])("falls back to receivedAt for a time no clock produced (%s)", (_, timestamp, sentAt) => {
    expect(correctTimestamp({ timestamp: new Date(timestamp), sentAt: sentAt ? new Date(sentAt) : undefined, receivedAt })).toBe(receivedAt);
  });
});
