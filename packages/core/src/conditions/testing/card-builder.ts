import type { UserCard } from "../../user-card";
import { counterKey } from "../counter-key";
import { buildCounter, type CountableEvent } from "../counter-maintenance";
import type { EventPropertyFilter } from "../condition.types";

/** A known user seen a month ago, with nothing else: tests add what they ask about. */
export function makeCard(overrides: Partial<UserCard> = {}): UserCard {
  return {
    id: 1,
    userId: "u1",
    properties: {},
    firstSeenAt: new Date("2024-04-20T00:00:00Z"),
    lastSeenAt: new Date("2024-05-20T00:00:00Z"),
    eventStats: {},
    counters: {},
    score: 0,
    grade: null,
    valueClass: null,
    lifecycleStage: null,
    segmentIds: [],
    emailUnsubscribed: false,
    ...overrides,
  };
}

/** A card whose statistics and the given counters all come from these events. */
export function cardWithEvents(events: CountableEvent[], counters: { event: string; where?: EventPropertyFilter[] }[] = [], overrides: Partial<UserCard> = {}): UserCard {
  const card = makeCard(overrides);
  for (const e of events) {
    const s = card.eventStats[e.name];
    if (!s) card.eventStats[e.name] = { count: 1, firstAt: e.occurredAt, lastAt: e.occurredAt };
    else {
      s.count += 1;
      if (e.occurredAt < s.firstAt) s.firstAt = e.occurredAt;
      if (e.occurredAt > s.lastAt) s.lastAt = e.occurredAt;
    }
  }
  for (const c of counters) {
    card.counters[counterKey(c.event, c.where)] = buildCounter({ event: c.event, where: c.where ?? null }, events);
  }
  return card;
}

export const ev = (name: string, at: string, properties: Record<string, unknown> = {}): CountableEvent => ({ name, properties, occurredAt: new Date(at) });
