import type { Config } from "@nurture/config";
import type { Db } from "@nurture/db";
import type { Queues } from "@nurture/jobs";
import type { Logger } from "pino";
import type { DeliveryPools } from "./delivery-pools";

export interface WorkerDeps {
  config: Config;
  db: Db;
  /** Connection pools of their own for email and webhook sends (see createDeliveryPools). */
  deliveryPools: Pick<DeliveryPools, "deliveries" | "handovers">;
  queues: Queues;
  log: Logger;
  /** Injectable clock. */
  now: () => Date;
}
