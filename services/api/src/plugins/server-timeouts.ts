import type { Config } from "@nurture/config";
import type { ServerOptions } from "node:http";

/**
 * Slow clients (slowloris, a body trickled a byte at a time) are cut off: the headers must arrive
 * within HTTP_HEADERS_TIMEOUT_MS and the whole request within HTTP_REQUEST_TIMEOUT_MS, after which
 * Node answers 408 and closes the connection. Node only looks for overdue requests every
 * `connectionsCheckingInterval` (30 s by default), so that interval follows the timeouts.
 */
export function serverTimeouts(config: Pick<Config, "HTTP_REQUEST_TIMEOUT_MS" | "HTTP_HEADERS_TIMEOUT_MS">): { requestTimeout: number; connectionTimeout: number; http: ServerOptions } {
  const requestTimeout = config.HTTP_REQUEST_TIMEOUT_MS;
  const headersTimeout = Math.min(config.HTTP_HEADERS_TIMEOUT_MS, requestTimeout);
  return {
    requestTimeout,
    // A socket silent in both directions this long is closed; never shorter than a request may take.
    connectionTimeout: Math.max(60_000, requestTimeout),
    http: { headersTimeout, connectionsCheckingInterval: Math.min(5_000, Math.max(50, Math.floor(headersTimeout / 4))) },
  };
}
