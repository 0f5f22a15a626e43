import type { Config } from "@nurture/config";
import { createDb, type Db } from "@nurture/db";

/**
 * The worker's connection pools for deliveries, apart from the rule engine's pool:
 * - `deliveries`: email and webhook sends hold a connection (their transaction) until the SMTP
 *   server or webhook endpoint answers, so slow receivers never take connections from the rule
 *   engine. At most DELIVERY_CONCURRENCY of each channel run at once.
 * - `handovers`: an email's hand-over record is committed while its sender's transaction is still
 *   open, so it needs a second connection that never waits behind a sender — at most one per email
 *   in flight.
 */
export interface DeliveryPools {
  deliveries: Db;
  handovers: Db;
  destroy(): Promise<void>;
}

export function createDeliveryPools(options: { connectionString: string; schema?: string | undefined; config: Pick<Config, "DELIVERY_CONCURRENCY">; applicationName?: string }): DeliveryPools {
  const base = { connectionString: options.connectionString, ...(options.schema ? { schema: options.schema } : {}) };
  const n = options.config.DELIVERY_CONCURRENCY;
  const deliveries = createDb({ ...base, max: 2 * n + 2, applicationName: `${options.applicationName ?? "nurture"}-deliveries` });
  const handovers = createDb({ ...base, max: n, applicationName: `${options.applicationName ?? "nurture"}-handovers` });
  return {
    deliveries,
    handovers,
    async destroy() {
      await Promise.all([deliveries.destroy(), handovers.destroy()]);
    },
  };
}
