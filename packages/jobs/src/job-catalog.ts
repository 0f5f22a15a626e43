import { z } from "zod";

/**
 * Every queue and the payload of its jobs. Payloads carry ids, never personal data, so a Redis dump
 * leaks nothing and a job always reads the current truth from PostgreSQL.
 */
export const jobCatalog = {
  /** Run the rule engine for one user: new events and/or a due time tick. */
  pipeline: z.object({ projectId: z.uuid(), userId: z.number().int().positive() }),
  /** Deliver one message (email, popup/chat inbox, webhook) that the ledger already holds. */
  delivery: z.object({ projectId: z.uuid(), messageId: z.number().int().positive() }),
  /** Long project-wide work started by a call (recompute scores, backfill a model) with progress. */
  maintenance: z.object({ projectId: z.uuid(), task: z.string().min(1), params: z.record(z.string(), z.unknown()).default({}) }),
} as const;

export type QueueName = keyof typeof jobCatalog;
export type JobPayload<Q extends QueueName> = z.infer<(typeof jobCatalog)[Q]>;
export const QUEUE_NAMES = Object.keys(jobCatalog) as QueueName[];
