/**
 * The in-memory evaluator: answers a condition for one user card at one instant, without raw events,
 * and tells the earliest instant the answer can change while no new event arrives.
 */
import type { UserCard } from "../user-card";
import { classifyCondition, type Condition, type DateComparison, type EventCountCondition, type TextComparison } from "./condition.types";
import { compileDateComparison, compileNumberComparison, compilePropertyCondition, compileTextComparison } from "./leaf-checks";
import { eventSource, windowedCounter, windowedNextChange } from "./event-observations";

/** The answer and the earliest instant (epoch ms) it can change without new events; null = not by time alone. */
export interface TimedAnswer {
  value: boolean;
  next: number | null;
}

export interface CompiledCondition {
  test(card: UserCard, nowMs: number): boolean;
  timed(card: UserCard, nowMs: number): TimedAnswer;
}

const earliest = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.min(a, b));

function staticLeaf(test: (card: UserCard) => boolean): CompiledCondition {
  return { test, timed: (card) => ({ value: test(card), next: null }) };
}

function instantLeaf(read: (card: UserCard) => number | null, cmp: DateComparison): CompiledCondition {
  const check = compileDateComparison(cmp);
  return {
    test: (card, now) => check.test(read(card), now),
    timed: (card, now) => {
      const t = read(card);
      return { value: check.test(t, now), next: check.next(t, now) };
    },
  };
}

function textLeaf(read: (card: UserCard) => string | null, cmp: TextComparison): CompiledCondition {
  const test = compileTextComparison(cmp);
  return staticLeaf((card) => test(read(card)));
}

function countLeaf(leaf: EventCountCondition): CompiledCondition {
  const cmp = compileNumberComparison(leaf.count);
  const windowDays = leaf.withinDays;
  const source = eventSource(leaf.event, leaf.where, windowDays !== undefined);
  if (windowDays === undefined) return staticLeaf((card) => cmp(source.total(card)));
  const key = source.key!;
  const count = windowedCounter(key, windowDays);
  return {
    test: (card, now) => cmp(count(card, now)),
    timed: (card, now) => ({ value: cmp(count(card, now)), next: windowedNextChange(card.counters[key], windowDays, now, cmp) }),
  };
}

function compileCombination(kind: "and" | "or", children: CompiledCondition[]): CompiledCondition {
  // The answer a child can force: false for "and", true for "or".
  const decisive = kind === "or";
  return {
    test:
      kind === "and"
        ? (card, now) => {
            for (const child of children) if (!child.test(card, now)) return false;
            return true;
          }
        : (card, now) => {
            for (const child of children) if (child.test(card, now)) return true;
            return false;
          },
    timed: (card, now) => {
      let forced = false;
      for (const child of children) {
        if (child.test(card, now) === decisive) {
          forced = true;
          break;
        }
      }
      if (!forced) {
        // Any child changing changes the answer.
        let next: number | null = null;
        for (const child of children) next = earliest(next, child.timed(card, now).next);
        return { value: !decisive, next };
      }
      // Forced by some children: the answer can only change once every one of them has changed.
      let latest = Number.NEGATIVE_INFINITY;
      for (const child of children) {
        if (child.test(card, now) !== decisive) continue;
        const next = child.timed(card, now).next;
        if (next === null) return { value: decisive, next: null };
        if (next > latest) latest = next;
      }
      return { value: decisive, next: latest };
    },
  };
}

export function compileCondition(condition: Condition): CompiledCondition {
  const c = classifyCondition(condition);
  switch (c.kind) {
    case "and":
      return compileCombination("and", c.node.and.map(compileCondition));
    case "or":
      return compileCombination("or", c.node.or.map(compileCondition));
    case "not": {
      const child = compileCondition(c.node.not);
      return {
        test: (card, now) => !child.test(card, now),
        timed: (card, now) => {
          const answer = child.timed(card, now);
          return { value: !answer.value, next: answer.next };
        },
      };
    }
    case "property": {
      const check = compilePropertyCondition(c.node);
      return {
        test: (card, now) => check.test(check.read(card.properties), now),
        timed: (card, now) => {
          const value = check.read(card.properties);
          return { value: check.test(value, now), next: check.next(value, now) };
        },
      };
    }
    case "event_count":
      return countLeaf(c.node);
    case "event_last":
      return instantLeaf(eventSource(c.node.event, c.node.where, false).lastAt, c.node.last);
    case "event_first":
      return instantLeaf(eventSource(c.node.event, c.node.where, false).firstAt, c.node.first);
    case "event_happened": {
      const source = eventSource(c.node.event, c.node.where, false);
      const want = c.node.happened;
      return staticLeaf((card) => source.total(card) > 0 === want);
    }
    case "score": {
      const cmp = compileNumberComparison(c.node.score);
      return staticLeaf((card) => cmp(card.score));
    }
    case "grade":
      return textLeaf((card) => card.grade, c.node.grade);
    case "value_class":
      return textLeaf((card) => card.valueClass, c.node.valueClass);
    case "lifecycle_stage":
      return textLeaf((card) => card.lifecycleStage, c.node.lifecycleStage);
    case "segment": {
      const id = c.node.segment;
      return staticLeaf((card) => card.segmentIds.includes(id));
    }
    case "first_seen":
      return instantLeaf((card) => card.firstSeenAt.getTime(), c.node.firstSeen);
    case "last_seen":
      return instantLeaf((card) => card.lastSeenAt.getTime(), c.node.lastSeen);
    case "identified": {
      const want = c.node.identified;
      return staticLeaf((card) => card.userId !== null === want);
    }
    case "email_known": {
      const want = c.node.emailKnown;
      return staticLeaf((card) => emailKnown(card) === want);
    }
    case "email_unsubscribed": {
      const want = c.node.emailUnsubscribed;
      return staticLeaf((card) => card.emailUnsubscribed === want);
    }
  }
}

/** The card has an address to write to: its `email` property is a string containing "@". */
export function emailKnown(card: UserCard): boolean {
  const email = card.properties.email;
  return typeof email === "string" && email.includes("@");
}

const compiled = new WeakMap<Condition, CompiledCondition>();

/** Compiles once per condition object (segments keep theirs), so repeated evaluation only reads the card. */
export function compiledCondition(condition: Condition): CompiledCondition {
  let c = compiled.get(condition);
  if (!c) {
    c = compileCondition(condition);
    compiled.set(condition, c);
  }
  return c;
}

/** Whether the card satisfies a validated condition at `now`. */
export function evaluateCondition(condition: Condition, card: UserCard, now: Date): boolean {
  return compiledCondition(condition).test(card, now.getTime());
}

/** The answer and the earliest future instant it can change with no new events (null: not by time alone). */
export function evaluateConditionTimed(condition: Condition, card: UserCard, now: Date): { matches: boolean; nextChangeAt: Date | null } {
  const answer = compiledCondition(condition).timed(card, now.getTime());
  return { matches: answer.value, nextChangeAt: answer.next === null ? null : new Date(answer.next) };
}

/**
 * The earliest instant after `now` at which the answer can change without new events, or null. It may
 * be conservative (the answer might still hold then): re-evaluating at that instant tells the next one.
 */
export function nextChangeAt(condition: Condition, card: UserCard, now: Date): Date | null {
  return evaluateConditionTimed(condition, card, now).nextChangeAt;
}
