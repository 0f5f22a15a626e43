/**
 * Why a card did or did not satisfy a condition, node by node, in words a marketer reads ("count of
 * checkout_started = 2; needs > 5"). Pass/fail comes from the evaluator itself, so the two never disagree.
 */
import type { UserCard } from "../user-card";
import {
  classifyCondition,
  type ClassifiedCondition,
  type Condition,
  type ConditionKind,
  type DateComparison,
  type EventCountCondition,
  type EventFirstCondition,
  type EventLastCondition,
  type EventPropertyFilter,
  type NumberComparison,
  type PropertyCondition,
  type TextComparison,
} from "./condition.types";
import { DAY_MS, propertyInstant, readPath, splitPropertyPath, windowBounds, sumDailyWithin } from "./condition-values";
import { compiledCondition, emailKnown } from "./condition-evaluator";
import { eventSource } from "./event-observations";

export interface ConditionTraceNode {
  /** Dotted path of the node ("" is the root, "and.2" its third child) — the same paths validation reports. */
  path: string;
  kind: ConditionKind;
  passed: boolean;
  detail: string;
}

const SYMBOLS: Record<string, string> = { eq: "=", neq: "≠", gt: ">", gte: "≥", lt: "<", lte: "≤" };

const show = (value: unknown): string => {
  const text = JSON.stringify(value) ?? "undefined";
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
};

function age(t: number, now: number): string {
  const diff = now - t;
  const abs = Math.abs(diff);
  const amount = abs < 3_600_000 ? `${Math.floor(abs / 60_000)} minutes` : abs < 2 * DAY_MS ? `${Math.floor(abs / 3_600_000)} hours` : `${Math.floor(abs / DAY_MS)} days`;
  return diff >= 0 ? `${amount} ago` : `in ${amount}`;
}

const at = (t: number, now: number) => `${new Date(t).toISOString()} (${age(t, now)})`;

function describeNumber(cmp: NumberComparison): string {
  return cmp.op === "between" ? `between ${cmp.from} and ${cmp.to}` : `${SYMBOLS[cmp.op]} ${cmp.value}`;
}

const days = (n: number) => `${n} day${n === 1 ? "" : "s"}`;

function describeDate(cmp: DateComparison): string {
  switch (cmp.op) {
    case "between":
      return `between ${cmp.from} and ${cmp.to}`;
    case "within_last_days":
      return `within the last ${days(cmp.days)}`;
    case "more_than_days_ago":
      return `more than ${days(cmp.days)} ago`;
    case "within_next_days":
      return `within the next ${days(cmp.days)}`;
    default:
      return `${SYMBOLS[cmp.op]} ${cmp.value}`;
  }
}

function describeText(cmp: TextComparison): string {
  switch (cmp.op) {
    case "in":
      return `one of ${cmp.values.map(show).join(", ")}`;
    case "defined":
      return "to be set";
    case "not_defined":
      return "not to be set";
    default:
      return `${SYMBOLS[cmp.op]} ${show(cmp.value)}`;
  }
}

function describePropertyNeed(leaf: PropertyCondition): string {
  switch (leaf.op) {
    case "defined":
      return "to be set";
    case "not_defined":
      return "not to be set";
    case "contains":
      return `to contain ${show(leaf.value)}`;
    case "in":
      return `one of ${leaf.values.map(show).join(", ")}`;
    case "between":
      return `between ${show(leaf.from)} and ${show(leaf.to)}`;
    case "within_last_days":
    case "more_than_days_ago":
    case "within_next_days":
      return `a date ${describeDate({ op: leaf.op, days: leaf.days })}`;
    default:
      return `${SYMBOLS[leaf.op]} ${show(leaf.value)}`;
  }
}

function describeFilter(where: EventPropertyFilter[] | undefined): string {
  if (!where) return "";
  return ` where ${where.map((f) => `${f.property} ${describePropertyNeed(f)}`).join(" and ")}`;
}

function propertyDetail(leaf: PropertyCondition, card: UserCard, now: number): string {
  const value = readPath(card.properties, splitPropertyPath(leaf.property));
  const instant = propertyInstant(value);
  const seen = value === undefined || value === null ? `${leaf.property} is not set` : `${leaf.property} = ${show(value)}${instant !== null && "days" in leaf ? ` (${age(instant, now)})` : ""}`;
  return `${seen}; needs ${describePropertyNeed(leaf)}`;
}

function eventCountDetail(leaf: EventCountCondition, card: UserCard, now: number): string {
  const source = eventSource(leaf.event, leaf.where, leaf.withinDays !== undefined);
  let count = source.total(card);
  if (leaf.withinDays !== undefined) {
    const { low, high } = windowBounds(now, leaf.withinDays);
    count = sumDailyWithin(card.counters[source.key!]?.daily ?? {}, low, high);
  }
  const window = leaf.withinDays === undefined ? "" : ` in the last ${days(leaf.withinDays)} (UTC)`;
  return `count of ${leaf.event}${describeFilter(leaf.where)}${window} = ${count}; needs ${describeNumber(leaf.count)}`;
}

function eventTimeDetail(leaf: EventLastCondition | EventFirstCondition, card: UserCard, now: number): string {
  const source = eventSource(leaf.event, leaf.where, false);
  const which = "last" in leaf ? "last" : "first";
  const t = "last" in leaf ? source.lastAt(card) : source.firstAt(card);
  const cmp = "last" in leaf ? leaf.last : leaf.first;
  const name = `${leaf.event}${describeFilter(leaf.where)}`;
  const seen = t === null ? `${name} never happened` : `${name} ${which} happened ${at(t, now)}`;
  return `${seen}; needs ${describeDate(cmp)}`;
}

const textFact = (label: string, value: string | null, cmp: TextComparison) =>
  `${label} ${value === null ? "is not set" : `= ${show(value)}`}; needs ${describeText(cmp)}`;

function leafDetail(c: ClassifiedCondition, card: UserCard, now: number): string {
  switch (c.kind) {
    case "and":
    case "or":
    case "not":
      return "";
    case "property":
      return propertyDetail(c.node, card, now);
    case "event_count":
      return eventCountDetail(c.node, card, now);
    case "event_last":
    case "event_first":
      return eventTimeDetail(c.node, card, now);
    case "event_happened": {
      const total = eventSource(c.node.event, c.node.where, false).total(card);
      const name = `${c.node.event}${describeFilter(c.node.where)}`;
      return `${total === 0 ? `${name} never happened` : `${name} happened ${total} times`}; needs ${c.node.happened ? "to have happened" : "never"}`;
    }
    case "score":
      return `score = ${card.score}; needs ${describeNumber(c.node.score)}`;
    case "grade":
      return textFact("grade", card.grade, c.node.grade);
    case "value_class":
      return textFact("value class", card.valueClass, c.node.valueClass);
    case "lifecycle_stage":
      return textFact("lifecycle stage", card.lifecycleStage, c.node.lifecycleStage);
    case "segment":
      return `${card.segmentIds.includes(c.node.segment) ? "member" : "not a member"} of segment ${c.node.segment}; needs membership`;
    case "first_seen":
      return `first seen ${at(card.firstSeenAt.getTime(), now)}; needs ${describeDate(c.node.firstSeen)}`;
    case "last_seen":
      return `last seen ${at(card.lastSeenAt.getTime(), now)}; needs ${describeDate(c.node.lastSeen)}`;
    case "identified":
      return `${card.userId === null ? "anonymous" : `identified as ${show(card.userId)}`}; needs ${c.node.identified ? "identified" : "anonymous"}`;
    case "email_known":
      return `${emailKnown(card) ? `email ${show(card.properties.email)} known` : "no email address"}; needs ${c.node.emailKnown ? "a known email" : "no email"}`;
    case "email_unsubscribed":
      return `${card.emailUnsubscribed ? "unsubscribed from email" : "subscribed to email"}; needs ${c.node.emailUnsubscribed ? "unsubscribed" : "subscribed"}`;
  }
}

/**
 * A trace of every node, root first (pre-order): trace[0].passed is the answer. Children are all
 * evaluated (no short-circuit) so a marketer sees each reason.
 */
export function explainCondition(condition: Condition, card: UserCard, now: Date): ConditionTraceNode[] {
  const nowMs = now.getTime();
  const trace: ConditionTraceNode[] = [];
  const visit = (node: Condition, path: string): void => {
    const c = classifyCondition(node);
    const passed = compiledCondition(node).test(card, nowMs);
    const index = trace.push({ path, kind: c.kind, passed, detail: "" }) - 1;
    const child = (key: string) => (path === "" ? key : `${path}.${key}`);
    if (c.kind === "and" || c.kind === "or") {
      const children = c.kind === "and" ? c.node.and : c.node.or;
      let held = 0;
      children.forEach((n, i) => {
        const at = trace.length;
        visit(n, child(`${c.kind}.${i}`));
        if (trace[at]!.passed) held += 1;
      });
      trace[index]!.detail = `${held} of ${children.length} conditions hold; needs ${c.kind === "and" ? "all" : "at least one"}`;
    } else if (c.kind === "not") {
      visit(c.node.not, child("not"));
      trace[index]!.detail = passed ? "the inner condition does not hold" : "the inner condition holds";
    } else {
      trace[index]!.detail = leafDetail(c, card, nowMs);
    }
  };
  visit(condition, "");
  return trace;
}
