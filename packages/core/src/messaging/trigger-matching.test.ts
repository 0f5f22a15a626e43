import { describe, expect, it } from "vitest";
import type { CampaignTrigger } from "./campaign.schema";
import { firstMatchingOccurrence, triggerMatches, type TriggerOccurrence } from "./trigger-matching";

const at = new Date("2026-01-01T10:00:00Z");
const occ = (name: string, properties: Record<string, unknown> = {}): TriggerOccurrence => ({ name, properties, occurredAt: at });

describe("campaign triggers", () => {
  const cases: [string, CampaignTrigger, TriggerOccurrence, boolean][] = [
    ["event by name", { type: "event", event: "cart_abandoned" }, occ("cart_abandoned"), true],
    ["another event", { type: "event", event: "cart_abandoned" }, occ("order_placed"), false],
    ["event with a matching filter", { type: "event", event: "viewed", where: [{ property: "price", op: "gt", value: 100 }] }, occ("viewed", { price: 150 }), true],
    ["event with a failing filter", { type: "event", event: "viewed", where: [{ property: "price", op: "gt", value: 100 }] }, occ("viewed", { price: 50 }), false],
    ["a reply event", { type: "event", event: "$message_replied" }, occ("$message_replied", { text: "hi" }), true],
    ["segment entered", { type: "segment_entered", segmentId: "s1" }, occ("$segment_entered", { segmentId: "s1" }), true],
    ["another segment entered", { type: "segment_entered", segmentId: "s1" }, occ("$segment_entered", { segmentId: "s2" }), false],
    ["segment left", { type: "segment_exited", segmentId: "s1" }, occ("$segment_exited", { segmentId: "s1" }), true],
    ["segment left is not entered", { type: "segment_entered", segmentId: "s1" }, occ("$segment_exited", { segmentId: "s1" }), false],
    ["any lifecycle change", { type: "lifecycle_changed" }, occ("$lifecycle_changed", { from: "new", to: "novice" }), true],
    ["lifecycle change to a stage", { type: "lifecycle_changed", to: "engaged" }, occ("$lifecycle_changed", { from: "novice", to: "engaged" }), true],
    ["lifecycle change to another stage", { type: "lifecycle_changed", to: "engaged" }, occ("$lifecycle_changed", { from: "new", to: "novice" }), false],
    ["score crossed up (system event)", { type: "score_crossed", threshold: 50, direction: "up" }, occ("$score_crossed", { threshold: 50, direction: "up", score: 55 }), true],
    ["score crossed another threshold", { type: "score_crossed", threshold: 50, direction: "up" }, occ("$score_crossed", { threshold: 80, direction: "up", score: 85 }), false],
    ["score change crossing up", { type: "score_crossed", threshold: 50, direction: "up" }, occ("$score_changed", { delta: 10, score: 52 }), true],
    ["score change landing exactly on the threshold", { type: "score_crossed", threshold: 50, direction: "up" }, occ("$score_changed", { delta: 5, score: 50 }), true],
    ["score change staying above", { type: "score_crossed", threshold: 50, direction: "up" }, occ("$score_changed", { delta: 10, score: 70 }), false],
    ["score change crossing down", { type: "score_crossed", threshold: 50, direction: "down" }, occ("$score_changed", { delta: -10, score: 45 }), true],
    ["score change crossing up is not down", { type: "score_crossed", threshold: 50, direction: "down" }, occ("$score_changed", { delta: 10, score: 52 }), false],
  ];
  it.each(cases)("%s", (_name, trigger, occurrence, expected) => {
    expect(triggerMatches(trigger, occurrence)).toBe(expected);
  });

  it("fires once per run, on the first matching occurrence", () => {
    const list = [occ("a"), { ...occ("viewed"), eventId: 1 }, { ...occ("viewed"), eventId: 2 }];
    expect(firstMatchingOccurrence({ type: "event", event: "viewed" }, list)?.eventId).toBe(1);
    expect(firstMatchingOccurrence({ type: "event", event: "none" }, list)).toBeNull();
  });
});
