import { createHash } from "node:crypto";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { AppDeps } from "../app-deps";
import { createRateLimitStore } from "./rate-limit-store";

/**
 * The write key as `writeKeyAuth` will read it — HTTP Basic user, Bearer token, `writeKey` in the
 * body, then in the query — so the budget charged is the key that would authenticate.
 */
function writeKeyOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  const basic = header && /^Basic\s+(.+)$/i.exec(header)?.[1];
  if (basic) return Buffer.from(basic, "base64").toString("utf8").split(":")[0] || undefined;
  const bearer = header && /^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim();
  if (bearer) return bearer;
  const body = request.body as { writeKey?: unknown } | undefined;
  if (typeof body?.writeKey === "string") return body.writeKey;
  const query = request.query as { writeKey?: unknown } | undefined;
  return typeof query?.writeKey === "string" ? query.writeKey : undefined;
}

/**
 * Each write key may send RATE_LIMIT_PER_SECOND requests per second (bursts of RATE_LIMIT_BURST)
 * to the public routes, counted in Redis across all API processes; beyond that it gets 429 with
 * `Retry-After`, which Segment clients and our tracker honour. One noisy site then cannot take the
 * database away from the others.
 *
 * The check runs before authentication, so a refused request costs one Redis call and no database
 * query (the budget is keyed by a hash of the key; an unknown key spends its own budget, then gets
 * 401). It fails open: when Redis is down or slow the request is let through and a warning logged,
 * because a 2xx for an event must depend on PostgreSQL alone. Register it before the routes and
 * before other preValidation hooks.
 */
export function registerRateLimit(app: FastifyInstance, deps: Pick<AppDeps, "config" | "log">, isPublic: (path: string) => boolean): void {
  const { RATE_LIMIT_PER_SECOND: perSecond, RATE_LIMIT_BURST: burst, QUEUE_PREFIX: prefix } = deps.config;
  if (perSecond <= 0) return;
  const store = createRateLimitStore(deps.config.REDIS_URL, deps.log);
  app.addHook("onClose", async () => store.close());

  app.addHook("preValidation", async (request, reply) => {
    if (!isPublic(request.url.split("?")[0] ?? "")) return;
    const key = writeKeyOf(request);
    if (!key) return;
    const bucket = `${prefix}:rate:${createHash("sha256").update(key).digest("base64url").slice(0, 32)}`;
    const decision = await store.take(bucket, perSecond, burst);
    if (decision === null || decision.allowed) return;
    const seconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
    return reply
      .code(429)
      .header("retry-after", String(seconds))
      .send({
        error: {
          code: "rate_limited",
          message: `Too many requests for this write key: at most ${perSecond} per second (bursts of ${burst}). Nothing was stored; retry after ${seconds} s.`,
        },
      });
  });
}
