import cors from "@fastify/cors";
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from "fastify-type-provider-zod";
import type { AppDeps } from "./app-deps";
import { registerErrorHandler } from "./plugins/error-handler";
import { registerOpenApi } from "./plugins/openapi";
import { healthRoutes } from "./routes/health.routes";
import { ingestRoutes } from "./routes/ingest.routes";
import { projectsRoutes } from "./routes/projects.routes";
import { usersRoutes } from "./routes/users.routes";

/** Routes that browsers on customers' sites call; every other route is admin-only. */
const PUBLIC_PREFIXES = ["/v1/track", "/v1/page", "/v1/screen", "/v1/identify", "/v1/alias", "/v1/group", "/v1/batch", "/v1/widget", "/tracker.js", "/t/"];

/** Builds the API without listening, so tests use `app.inject()` and main decides the port. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    // pino's Logger and Fastify's logger interface differ only in typing.
    loggerInstance: deps.log as unknown as FastifyBaseLogger,
    trustProxy: deps.config.TRUST_PROXY,
    bodyLimit: 512 * 1024,
    // Traits may carry "__proto__"/"constructor" keys; they are dropped rather than rejected.
    onProtoPoisoning: "remove",
    onConstructorPoisoning: "remove",
    // Slow clients are cut off instead of holding a connection.
    requestTimeout: 30_000,
    connectionTimeout: 60_000,
    disableRequestLogging: true,
    genReqId: (req) => (req.headers["x-request-id"] as string | undefined)?.slice(0, 100) || crypto.randomUUID(),
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandler(app);

  // Trackers post JSON as text/plain so browsers skip the CORS preflight (and sendBeacon works).
  app.addContentTypeParser("text/plain", { parseAs: "string" }, app.getDefaultJsonParser("remove", "remove"));

  await app.register(cors, {
    delegator: (req, callback) => {
      const path = req.url?.split("?")[0] ?? "";
      const isPublic = PUBLIC_PREFIXES.some((p) => path.startsWith(p));
      const origin = req.headers.origin;
      // Tracking routes accept any site; the admin API answers only to configured origins.
      if (isPublic) return callback(null, { origin: true, credentials: false });
      return callback(null, { origin: origin !== undefined && deps.config.ADMIN_CORS_ORIGINS.includes(origin) });
    },
  });

  app.addHook("onResponse", async (request, reply) => {
    if (reply.statusCode >= 500 || deps.config.LOG_LEVEL === "debug" || deps.config.LOG_LEVEL === "trace") {
      request.log.info({ method: request.method, url: request.url.split("?")[0], status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, "request");
    }
  });

  await registerOpenApi(app);
  await app.register(healthRoutes(deps));
  await app.register(projectsRoutes(deps));
  await app.register(ingestRoutes(deps));
  await app.register(usersRoutes(deps));
  return app;
}
