import { z } from "zod";

/** Booleans from the environment: only the words below count, so "false" is false. */
const envBoolean = z
  .enum(["true", "false", "1", "0", "yes", "no"])
  .transform((v) => v === "true" || v === "1" || v === "yes");

const url = (protocols: string[]) =>
  z.string().refine((v) => {
    try {
      return protocols.includes(new URL(v).protocol);
    } catch {
      return false;
    }
  }, `must be a URL starting with ${protocols.map((p) => `${p}//`).join(" or ")}`);

export const configSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  /** Unset: `npm start` runs an embedded PostgreSQL under DATA_DIR. */
  DATABASE_URL: url(["postgres:", "postgresql:"]).optional(),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  REDIS_URL: url(["redis:", "rediss:"]).default("redis://127.0.0.1:6379"),
  /** Unset: email is written to DATA_DIR/outbox/*.eml. */
  SMTP_URL: url(["smtp:", "smtps:"]).optional(),
  SMTP_POOL_SIZE: z.coerce.number().int().min(1).max(100).default(5),
  HOST: z.string().min(1).default("127.0.0.1"),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  /** Where links in emails (unsubscribe, tracking pixel, clicks) point; defaults to http://HOST:PORT. */
  PUBLIC_URL: url(["http:", "https:"]).optional(),
  /** Authorizes POST /v1/projects; unset disables the operator API (the CLI still works). */
  NURTURE_ADMIN_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
  /** Signs unsubscribe and click links. Unset in default mode: generated once and kept in DATA_DIR. */
  SIGNING_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
  DATA_DIR: z.string().min(1).default("./.data"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  QUEUE_PREFIX: z.string().regex(/^[A-Za-z0-9:_-]+$/, "letters, digits, ':', '_' and '-' only").default("nurture"),
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(500).default(20),
  /** Emails (and, separately, webhooks) each worker process hands over at once; each holds a database connection meanwhile. */
  DELIVERY_CONCURRENCY: z.coerce.number().int().min(1).max(200).default(10),
  /** Accept cross-origin admin API calls from these origins (comma-separated); tracker routes allow any origin. */
  ADMIN_CORS_ORIGINS: z
    .string()
    .default("")
    .transform((v) => v.split(",").map((s) => s.trim()).filter(Boolean)),
  TRUST_PROXY: envBoolean.default(false),
  /** Sustained requests per second each project's write key may send to tracking and widget routes; 0 turns the limit off. */
  RATE_LIMIT_PER_SECOND: z.coerce.number().min(0).default(1000),
  /** Requests a project may send at once above the sustained rate (a page load firing several calls, a client flushing its queue). */
  RATE_LIMIT_BURST: z.coerce.number().int().min(1).default(2000),
  /** Widget requests (long polls) one API process holds open at once; beyond it a request with `wait` answers at once with what is there. */
  WIDGET_MAX_WAITING: z.coerce.number().int().min(0).default(10_000),
  /** The whole request (headers and body) must arrive within this time, or the connection is closed (408). */
  HTTP_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(30_000),
  /** The request headers must arrive within this time (slowloris); capped at HTTP_REQUEST_TIMEOUT_MS. */
  HTTP_HEADERS_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
});

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`Invalid configuration:\n${issues.map((i) => `  - ${i}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** Reads the configuration once; every other module receives it as an argument. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // Empty strings mean "unset" (docker-compose writes FOO= for blank values).
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const result = configSchema.safeParse(cleaned);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`));
  }
  return result.data;
}
