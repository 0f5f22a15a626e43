import { z } from "zod";

/** Users per pipeline job: few enough for low latency, enough to keep Redis traffic per event small. */
export const PIPELINE_JOB_USERS = 25;

/**
 * Every queue and the payload of its jobs. Payloads carry ids, never personal data, so a Redis dump
 * leaks nothing and a job always reads the current truth from PostgreSQL.
 */
export const jobCatalog = {
  /** Run the rule engine for a few users: new events and/or a due time tick. */
  pipeline: z.object({ projectId: z.uuid(), userIds: z.array(z.number().int().positive()).min(1).max(PIPELINE_JOB_USERS) }),
  /** Deliver one message (email, popup/chat inbox, webhook) that the ledger already holds. */
  delivery: z.object({ projectId: z.uuid(), messageId: z.number().int().positive() }),
  /** Long project-wide work started by a call (recompute scores, backfill a model) with progress. */
  maintenance: z.object({ projectId: z.uuid(), task: z.string().min(1), params: z.record(z.string(), z.unknown()).default({}) }),
} as const;

export type QueueName = keyof typeof jobCatalog;
export type JobPayload<Q extends QueueName> = z.infer<(typeof jobCatalog)[Q]>;
export const QUEUE_NAMES = Object.keys(jobCatalog) as QueueName[];
