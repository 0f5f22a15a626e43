import type { ConditionTraceNode } from "../conditions";

/**
 * What happened when a trigger reached a campaign, or when a step was about to go out. Every one is
 * kept, so "why did (or didn't) this user get it?" has an answer.
 */
export const DECISION_OUTCOMES = [
  /** Trigger stage. */
  "queued",
  "not_in_audience",
  "already_received",
  "too_soon",
  "stale_trigger",
  /** Send stage. */
  "sent",
  "cancelled",
  "held",
  "delayed",
  "skipped",
  "failed",
  "retrying",
] as const;
export type DecisionOutcome = (typeof DECISION_OUTCOMES)[number];

export interface DecisionTraces {
  /** The campaign audience, node by node. */
  audience?: ConditionTraceNode[];
  /** The step's own condition. */
  step?: ConditionTraceNode[];
}

const HEADLINES: Record<DecisionOutcome, string> = {
  queued: "Triggered; the message is scheduled",
  not_in_audience: "Triggered, but the user is not in the campaign audience",
  already_received: "Triggered, but the user already received this campaign",
  too_soon: "Triggered, but the campaign repeats less often",
  stale_trigger: "Not triggered: the event is too old",
  sent: "Sent",
  cancelled: "Cancelled before sending",
  held: "Held back by a project cap",
  delayed: "Delayed by quiet hours",
  skipped: "Skipped",
  failed: "Failed",
  retrying: "Temporary failure; retrying",
};

export const decisionHeadline = (outcome: DecisionOutcome): string => HEADLINES[outcome];

/** One line per condition node, indented by depth: "✗ and.1 — count of order_placed = 1; needs = 0". */
export function formatTrace(trace: readonly ConditionTraceNode[]): string[] {
  return trace.map((node) => {
    const depth = node.path === "" ? 0 : node.path.split(".").filter((s) => /^\d+$/.test(s) || s === "not").length;
    return `${"  ".repeat(depth)}${node.passed ? "✓" : "✗"} ${node.path || "(all)"} — ${node.detail}`;
  });
}

/** The readable account of a decision: headline, reason and the condition traces that led to it. */
export function explainDecision(decision: { outcome: DecisionOutcome; reason: string | null; traces: DecisionTraces }): string[] {
  const lines = [decision.reason ? `${HEADLINES[decision.outcome]}: ${decision.reason}` : HEADLINES[decision.outcome]];
  if (decision.traces.audience?.length) lines.push("Audience:", ...formatTrace(decision.traces.audience).map((l) => `  ${l}`));
  if (decision.traces.step?.length) lines.push("Step condition:", ...formatTrace(decision.traces.step).map((l) => `  ${l}`));
  return lines;
}
