import { sql } from "kysely";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type { AppDeps } from "../app-deps";

async function check(probe: () => Promise<unknown>, timeoutMs = 2_000): Promise<"up" | "down"> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([probe(), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error("timeout")), timeoutMs)))]);
    return "up";
  } catch {
    return "down";
  } finally {
    clearTimeout(timer);
  }
}

/** Liveness (`/health/live`: the process answers) and readiness (`/health`: database and Redis reachable). */
export function healthRoutes(deps: AppDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get("/health/live", { schema: { tags: ["health"], summary: "Liveness" } }, async () => ({ status: "ok" }));
    app.get("/health", { schema: { tags: ["health"], summary: "Readiness: database and Redis reachable" } }, async (_request, reply) => {
      const [database, redis] = await Promise.all([check(() => sql`SELECT 1`.execute(deps.db)), check(() => deps.redis.ping())]);
      const ok = database === "up" && redis === "up";
      return reply.code(ok ? 200 : 503).send({ status: ok ? "ok" : "degraded", database, redis });
    });
  };
}
