import type { Config } from "@nurture/config";
import type { Db } from "@nurture/db";
import type { Queues } from "@nurture/jobs";
import type { Logger } from "pino";

export interface WorkerDeps {
  config: Config;
  db: Db;
  queues: Queues;
  log: Logger;
  /** Injectable clock. */
  now: () => Date;
}
