import { describe, expect, it } from "vitest";
import { capDecision, repeatDecision, type PriorSeries } from "./send-policy";

const DAY = 86_400_000;
const now = new Date("2026-03-10T12:00:00Z");
const ago = (days: number) => new Date(now.getTime() - days * DAY);
const series = (days: number, live = true, windowKey = "once"): PriorSeries[] => [{ startedAt: ago(days), live, windowKey }];

describe("per-campaign repetition", () => {
  it.each([
    ["once, never received", { mode: "once" as const }, [], true],
    ["once, already received", { mode: "once" as const }, series(400), false],
    ["once, an earlier series was cancelled before anything went out", { mode: "once" as const }, series(3, false), true],
    ["every 7 days, never received", { mode: "every" as const, days: 7 }, [], true],
    ["every 7 days, received 6 days ago", { mode: "every" as const, days: 7 }, series(6, true, "x"), false],
    ["every 7 days, received 7 days ago", { mode: "every" as const, days: 7 }, series(7, true, "x"), true],
  ])("%s", (_name, repeat, prior, allowed) => {
    expect(repeatDecision(repeat, prior, now).allowed).toBe(allowed);
  });

  it("gives a retry after a dead series a key of its own", () => {
    expect(repeatDecision({ mode: "once" }, [], now)).toEqual({ allowed: true, windowKey: "once" });
    const prior = [...series(9, false, "once"), ...series(5, false, "once#2")];
    expect(repeatDecision({ mode: "once" }, prior, now)).toEqual({ allowed: true, windowKey: "once#3" });
  });

  it("gives every allowed start of a repeating campaign its own window key", () => {
    const repeat = { mode: "every" as const, days: 3 };
    const keys = new Set<string>();
    const prior: PriorSeries[] = [];
    for (let hour = 0; hour < 24 * 60; hour += 7) {
      const at = new Date(now.getTime() + hour * 3_600_000);
      const decision = repeatDecision(repeat, prior, at);
      if (!decision.allowed) continue;
      expect(keys.has(decision.windowKey)).toBe(false);
      expect(decision.windowKey).not.toContain("#");
      keys.add(decision.windowKey);
      prior.push({ startedAt: at, windowKey: decision.windowKey, live: true });
    }
    expect(keys.size).toBeGreaterThanOrEqual(19);
  });

  it("starts no second series the same day after a daily cap held the first back", () => {
    const dayStart = new Date("2026-03-10T00:00:00Z");
    const held = (at: Date): PriorSeries[] => [{ startedAt: at, live: false, windowKey: "once", heldAt: at }];
    expect(repeatDecision({ mode: "once" }, held(new Date("2026-03-10T09:00:00Z")), now, dayStart)).toMatchObject({ allowed: false, reason: expect.stringMatching(/daily cap held/) });
    expect(repeatDecision({ mode: "once" }, held(new Date("2026-03-09T22:00:00Z")), now, dayStart)).toEqual({ allowed: true, windowKey: "once#2" });
    expect(repeatDecision({ mode: "every", days: 1 }, held(new Date("2026-03-10T09:00:00Z")), now, dayStart).allowed).toBe(false);
  });

  it("tells when a too-early repeat becomes possible", () => {
    const decision = repeatDecision({ mode: "every", days: 7 }, series(2, true, "x"), now);
    expect(decision).toMatchObject({ allowed: false, nextAllowedAt: new Date(ago(2).getTime() + 7 * DAY) });
  });
});

describe("project caps", () => {
  it.each([
    ["no cap for the channel", { popup: 1 }, "email" as const, 50, true],
    ["under the cap", { email: 3 }, "email" as const, 2, true],
    ["at the cap", { email: 3 }, "email" as const, 3, false],
    ["a zero cap blocks the channel", { chat: 0 }, "chat" as const, 0, false],
  ])("%s", (_name, caps, channel, sent, allowed) => {
    expect(capDecision(caps, channel, sent).allowed).toBe(allowed);
  });
});
