import type { PriorSeries, UserCard } from "@nurture/core";
import type { DB, EventRow, ProjectRow, Statement, UserRow } from "@nurture/db";
import type { Queues } from "@nurture/jobs";
import type { RawBuilder, Transaction } from "kysely";
import type { Logger } from "pino";
import type { PendingExpiries } from "../scoring/score-ledger.repository";

export interface EmittedEvent {
  name: string;
  properties: Record<string, unknown>;
  occurredAt: Date;
}

/** What one run of the rule engine for one user sees; see processors.ts for the order. */
export interface PipelineContext {
  trx: Transaction<DB>;
  project: ProjectRow;
  user: UserRow;
  /** Mutable: a processor updates the fields it owns so the processors after it see them. */
  card: UserCard;
  /** Newly processed events in time order; empty on a pure time tick. */
  events: EventRow[];
  /** System events emitted earlier in this run (stored on the timeline after the processors). */
  emitted: EmittedEvent[];
  /** Whether the run holds the project's segments lock, shared (see segments-lock); tried with the user's row lock. */
  segmentsLocked: boolean;
  /** The score's awards due to expire by `now` and its next expiry after, read with the card. */
  expiries: PendingExpiries;
  /** Prior series of the active campaigns this run's stored events may trigger, by campaign id, read with the card. */
  priorSeries: Map<string, PriorSeries[]>;
  now: Date;
  emit(name: string, properties: Record<string, unknown>): void;
  /** Card columns to write with the run's bookkeeping statement (the card object is updated by the caller). */
  updateCard(changes: CardColumns): void;
  /** Asks for another run at `at` (time-relative rules); the earliest request wins. */
  scheduleAt(at: Date): void;
  /**
   * A write whose result the run does not need (decisions on the record, say): it goes out with
   * the run's last statement and COMMIT, saving its own round trip, and fails the run if it fails.
   * Its rows are there once the run has committed (for after-commit steps).
   */
  writeWithCommit<R>(statement: Statement<R>): Promise<R[]>;
  /** Runs after the transaction commits, e.g. to enqueue a delivery job. */
  afterCommit(fn: () => Promise<void>): void;
  /** For after-commit enqueues (delivery jobs). */
  queues: Queues;
  log: Logger;
}

export type Processor = (ctx: PipelineContext) => Promise<void>;

/** The users columns processors own, written once per run. */
export type CardColumns = Partial<Pick<UserRow, "score" | "grade" | "lifecycle_stage">>;

/**
 * A part of the card a feature keeps in its own tables: one SQL expression yielding a JSON value
 * for the user, and how that value lands on the card (see card-loader).
 */
export interface CardSection {
  select(userId: number): RawBuilder<unknown>;
  apply(card: UserCard, value: unknown): void;
}
