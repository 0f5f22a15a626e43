import { z } from "zod";

/** Users per pipeline job: few enough for low latency, enough to keep Redis traffic per event small. */
export const PIPELINE_JOB_USERS = 25;

/** Deliver one message that the ledger already holds. */
const delivery = z.object({ projectId: z.uuid(), messageId: z.number().int().positive() });

/**
 * Every queue and the payload of its jobs. Payloads carry ids, never personal data, so a Redis dump
 * leaks nothing and a job always reads the current truth from PostgreSQL.
 */
export const jobCatalog = {
  /** Run the rule engine for a few users: new events and/or a due time tick. */
  pipeline: z.object({ projectId: z.uuid(), userIds: z.array(z.number().int().positive()).min(1).max(PIPELINE_JOB_USERS) }),
  // One queue per delivery channel: a slow SMTP server or webhook endpoint backs up its own queue
  // only, and each channel has its own retry policy and concurrency.
  email: delivery,
  popup: delivery,
  chat: delivery,
  webhook: delivery,
  /** Long project-wide work started by a call (recompute scores, backfill a model) with progress. */
  maintenance: z.object({ projectId: z.uuid(), task: z.string().min(1), params: z.record(z.string(), z.unknown()).default({}) }),
} as const;

export type QueueName = keyof typeof jobCatalog;
export type JobPayload<Q extends QueueName> = z.infer<(typeof jobCatalog)[Q]>;
export const QUEUE_NAMES = Object.keys(jobCatalog) as QueueName[];

/** The delivery queues, named after the channel they deliver. */
export const DELIVERY_QUEUES = ["email", "popup", "chat", "webhook"] as const satisfies readonly QueueName[];
export type DeliveryQueue = (typeof DELIVERY_QUEUES)[number];
