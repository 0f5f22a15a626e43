import type { Config } from "@nurture/config";
import type { Db } from "@nurture/db";
import type { Queues } from "@nurture/jobs";
import type { Logger } from "pino";

export interface WorkerDeps {
  config: Config;
  db: Db;
  /**
   * A pool of its own for deliveries, which hold a connection while the SMTP server or webhook
   * endpoint answers: slow receivers then never take connections from the rule engine. Defaults
   * to `db`.
   */
  deliveryDb?: Db;
  queues: Queues;
  log: Logger;
  /** Injectable clock. */
  now: () => Date;
}
