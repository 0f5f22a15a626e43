/** What a condition needs and depends on: counters to keep, segments it reads, whether time alone moves it. */
import { classifyCondition, type Condition, type DateComparison, type EventPropertyFilter } from "./condition.types";
import { counterKey, normalizeFilter, type CounterDefinition } from "./counter-key";

/** The counters a condition reads, each once, with the longest window asked of it. */
export function requiredCounters(condition: Condition): CounterDefinition[] {
  const found = new Map<string, CounterDefinition>();
  const need = (event: string, where: EventPropertyFilter[] | undefined, windowDays: number) => {
    const key = counterKey(event, where);
    const existing = found.get(key);
    if (existing) existing.windowDays = Math.max(existing.windowDays, windowDays);
    else found.set(key, { key, event, where: where && where.length > 0 ? normalizeFilter(where) : null, windowDays });
  };
  const visit = (node: Condition): void => {
    const c = classifyCondition(node);
    switch (c.kind) {
      case "and":
        return c.node.and.forEach(visit);
      case "or":
        return c.node.or.forEach(visit);
      case "not":
        return visit(c.node.not);
      case "event_count":
        if (c.node.where || c.node.withinDays !== undefined) need(c.node.event, c.node.where, c.node.withinDays ?? 0);
        return;
      case "event_last":
      case "event_first":
      case "event_happened":
        if (c.node.where) need(c.node.event, c.node.where, 0);
        return;
      default:
        return;
    }
  };
  visit(condition);
  return [...found.values()];
}

/** The segment ids a condition refers to (for dependency order and cycle checks). */
export function referencedSegments(condition: Condition): string[] {
  const ids = new Set<string>();
  const visit = (node: Condition): void => {
    if ("and" in node) node.and.forEach(visit);
    else if ("or" in node) node.or.forEach(visit);
    else if ("not" in node) visit(node.not);
    else if ("segment" in node) ids.add(node.segment);
  };
  visit(condition);
  return [...ids];
}

const RELATIVE = new Set(["within_last_days", "more_than_days_ago", "within_next_days"]);
const relativeDate = (cmp: DateComparison) => RELATIVE.has(cmp.op);

/** Whether the answer can change with time alone (relative dates, windowed counts). */
export function isTimeRelative(condition: Condition): boolean {
  const c = classifyCondition(condition);
  switch (c.kind) {
    case "and":
      return c.node.and.some(isTimeRelative);
    case "or":
      return c.node.or.some(isTimeRelative);
    case "not":
      return isTimeRelative(c.node.not);
    case "property":
      return RELATIVE.has(c.node.op);
    case "event_count":
      return c.node.withinDays !== undefined;
    case "event_last":
      return relativeDate(c.node.last);
    case "event_first":
      return relativeDate(c.node.first);
    case "first_seen":
      return relativeDate(c.node.firstSeen);
    case "last_seen":
      return relativeDate(c.node.lastSeen);
    default:
      return false;
  }
}
