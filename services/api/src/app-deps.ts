import type { PipelineNotifier } from "@nurture/backend";
import type { Config } from "@nurture/config";
import type { Db } from "@nurture/db";
import type { Queues } from "@nurture/jobs";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import type { InboxWaiters } from "./plugins/inbox-waiters";

/** Everything the API needs, built by the caller (main or a test) and passed in. */
export interface AppDeps {
  config: Config;
  db: Db;
  queues: Queues;
  /** Used for readiness checks. */
  redis: Redis;
  log: Logger;
  /** Signals the pipeline after commits (see createPipelineNotifier). */
  notifier: PipelineNotifier;
  /** Widget requests waiting for a visitor's inbox (see createInboxWaiters). */
  inboxWaiters: InboxWaiters;
  /** Injectable clock for features that compare with "now". */
  now: () => Date;
}

/** What callers pass to buildApp; the notifier is created when not given, the inbox waiters always. */
export type AppOptions = Omit<AppDeps, "notifier" | "inboxWaiters"> & { notifier?: PipelineNotifier };
