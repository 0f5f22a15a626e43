import type { ProjectRow } from "@nurture/db";
import type { FastifyInstance } from "fastify";
import type { AppDeps } from "../app-deps";
import { createRateLimitStore } from "./rate-limit-store";

/**
 * Each project's write key may send RATE_LIMIT_PER_SECOND requests per second (bursts of
 * RATE_LIMIT_BURST) to the public routes, counted in Redis across all API processes; beyond that
 * it gets 429 with `Retry-After`, which Segment clients and our tracker honour. One noisy site
 * then cannot take the database away from the others.
 *
 * It runs after authentication (the budget is the project's) and fails open: when Redis is down or
 * slow the request is let through and a warning logged, because a 2xx for an event must depend on
 * PostgreSQL alone. Register it before the routes.
 */
export function registerRateLimit(app: FastifyInstance, deps: Pick<AppDeps, "config" | "log">, isPublic: (path: string) => boolean): void {
  const { RATE_LIMIT_PER_SECOND: perSecond, RATE_LIMIT_BURST: burst, QUEUE_PREFIX: prefix } = deps.config;
  if (perSecond <= 0) return;
  const store = createRateLimitStore(deps.config.REDIS_URL, deps.log);
  app.addHook("onClose", async () => store.close());

  app.addHook("preHandler", async (request, reply) => {
    const project = (request as { project?: ProjectRow }).project;
    if (!project || !isPublic(request.url.split("?")[0] ?? "")) return;
    const decision = await store.take(`${prefix}:rate:${project.id}`, perSecond, burst);
    if (decision === null || decision.allowed) return;
    const seconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
    return reply
      .code(429)
      .header("retry-after", String(seconds))
      .send({
        error: {
          code: "rate_limited",
          message: `Too many requests for this project: at most ${perSecond} per second (bursts of ${burst}). Nothing was stored; retry after ${seconds} s.`,
        },
      });
  });
}
