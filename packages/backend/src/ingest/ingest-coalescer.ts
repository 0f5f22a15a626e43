import type { Db } from "@nurture/db";
import type { IncomingEvent } from "./incoming-event";
import { ingestEvents, ingestTogether, type IngestResult } from "./ingest-events";

export interface IngestCoalescer {
  /** Stores one request's batch; resolves once it is committed, with that request's own outcome. */
  ingest(projectId: string, events: readonly IncomingEvent[]): Promise<IngestResult>;
}

export interface IngestCoalescerOptions {
  /** Messages of one project being stored at once in this process from which it counts as busy (two full batches). */
  busyAt?: number;
  /** Transactions a busy project may have under way in this process; further requests wait and then go together. */
  transactionsWhenBusy?: number;
  /** Messages one transaction takes at most (a larger request still goes, alone). */
  maxEvents?: number;
  /**
   * Transactions any project may have under way in this process, however small its requests: a
   * burst of single events (often about one visitor, whose card they all lock) waits and goes
   * together instead of holding a connection each while they take turns. Three keep a site's
   * occasional concurrent requests from waiting while making a burst's groups large: at 8, a
   * burst of 20 single events was 8 one-event commits and small groups, and its p99 twice as long.
   */
  maxTransactions?: number;
}

interface Waiting {
  events: readonly IncomingEvent[];
  resolve(result: IngestResult): void;
  reject(err: unknown): void;
}

interface Lane {
  waiting: Waiting[];
  /** The project's transactions under way, and the messages in them. */
  running: number;
  storing: number;
}

/**
 * Group commit for ingestion. Each transaction costs PostgreSQL a WAL flush and the API a round
 * trip per statement, whatever the number of messages, so while a project already has a lot
 * being stored, only a couple of its transactions run and its next requests wait for one of them
 * to end, then are stored together in one. A project sending little never waits: its requests go
 * at once, each in its own transaction, as without coalescing, while fewer than `maxTransactions`
 * of them are under way.
 *
 * Each request keeps its own outcome: if the shared transaction fails (one request's property
 * operation cannot apply, a bad identity, the database is gone), nothing of it was committed and
 * every request of the group is stored again on its own, so only the request at fault fails.
 */
export function createIngestCoalescer(db: Db, options: IngestCoalescerOptions = {}): IngestCoalescer {
  const busyAt = options.busyAt ?? 200;
  const transactionsWhenBusy = options.transactionsWhenBusy ?? 2;
  const maxEvents = options.maxEvents ?? 2_000;
  const maxTransactions = options.maxTransactions ?? 3;
  const lanes = new Map<string, Lane>();

  const alone = (projectId: string, request: Waiting) => ingestEvents(db, projectId, request.events).then(request.resolve, request.reject);

  async function store(projectId: string, group: Waiting[]): Promise<void> {
    if (group.length === 1) return alone(projectId, group[0]!);
    let results: IngestResult[];
    try {
      results = await ingestTogether(db, projectId, group.map((r) => r.events));
    } catch {
      // They arrived concurrently, so storing them concurrently keeps every order a client could see.
      await Promise.all(group.map((r) => alone(projectId, r)));
      return;
    }
    group.forEach((r, i) => r.resolve(results[i]!));
  }

  function next(projectId: string, lane: Lane): void {
    while (lane.waiting.length > 0 && lane.running < maxTransactions && (lane.storing < busyAt || lane.running < transactionsWhenBusy)) {
      let size = lane.waiting[0]!.events.length;
      let count = 1;
      while (count < lane.waiting.length && size + lane.waiting[count]!.events.length <= maxEvents) size += lane.waiting[count++]!.events.length;
      const group = lane.waiting.splice(0, count);
      lane.running++;
      lane.storing += size;
      void store(projectId, group).finally(() => {
        lane.running--;
        lane.storing -= size;
        if (lane.running === 0 && lane.waiting.length === 0) lanes.delete(projectId);
        else next(projectId, lane);
      });
    }
  }

  return {
    ingest(projectId, events) {
      return new Promise<IngestResult>((resolve, reject) => {
        let lane = lanes.get(projectId);
        if (!lane) lanes.set(projectId, (lane = { waiting: [], running: 0, storing: 0 }));
        lane.waiting.push({ events, resolve, reject });
        next(projectId, lane);
      });
    },
  };
}
