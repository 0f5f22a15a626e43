import cors from "@fastify/cors";
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from "fastify";
import { serializerCompiler, type ZodTypeProvider } from "fastify-type-provider-zod";
import { createPipelineNotifier } from "@nurture/backend";
import type { AppDeps, AppOptions } from "./app-deps";
import { registerErrorHandler } from "./plugins/error-handler";
import { createInboxWaiters } from "./plugins/inbox-waiters";
import { registerInputGuard } from "./plugins/input-guard";
import { registerOpenApi } from "./plugins/openapi";
import { registerRateLimit } from "./plugins/rate-limit";
import { safeValidatorCompiler } from "./plugins/safe-validator";
import { serverTimeouts } from "./plugins/server-timeouts";
import { campaignsRoutes } from "./routes/campaigns.routes";
import { emailLinksRoutes } from "./routes/email-links.routes";
import { healthRoutes } from "./routes/health.routes";
import { identityRoutes } from "./routes/identity.routes";
import { ingestRoutes } from "./routes/ingest.routes";
import { lifecycleRoutes } from "./routes/lifecycle.routes";
import { messagingSettingsRoutes } from "./routes/messaging-settings.routes";
import { projectsRoutes } from "./routes/projects.routes";
import { scoringRoutes } from "./routes/scoring.routes";
import { segmentsRoutes } from "./routes/segments.routes";
import { trackerRoutes } from "./routes/tracker.routes";
import { usersRoutes } from "./routes/users.routes";
import { widgetRoutes } from "./routes/widget.routes";

/** Routes that browsers on customers' sites call; every other route is admin-only. */
const PUBLIC_PREFIXES = ["/v1/track", "/v1/page", "/v1/screen", "/v1/identify", "/v1/alias", "/v1/group", "/v1/batch", "/v1/widget", "/tracker.js", "/t/"];

/** Builds the API without listening, so tests use `app.inject()` and main decides the port. */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const deps: AppDeps = {
    ...options,
    notifier: options.notifier ?? createPipelineNotifier(options.queues, options.log),
    inboxWaiters: createInboxWaiters(options.redis, options.queues, options.config.QUEUE_PREFIX, options.log),
  };
  const app = Fastify({
    // pino's Logger and Fastify's logger interface differ only in typing.
    loggerInstance: deps.log as unknown as FastifyBaseLogger,
    trustProxy: deps.config.TRUST_PROXY,
    bodyLimit: 512 * 1024,
    // Traits may carry "__proto__"/"constructor" keys; they are dropped rather than rejected.
    onProtoPoisoning: "remove",
    onConstructorPoisoning: "remove",
    // Slow clients are cut off instead of holding a connection.
    ...serverTimeouts(deps.config),
    // Per-request lines are logged by the onResponse hook below, only where they help.
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: (req) => (req.headers["x-request-id"] as string | undefined)?.slice(0, 100) || crypto.randomUUID(),
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(safeValidatorCompiler);
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
      // Retry-After must be readable by the tracker's back-off; preflights are cached for a day.
      if (isPublic) return callback(null, { origin: true, credentials: false, exposedHeaders: ["Retry-After"], maxAge: 86_400 });
      return callback(null, { origin: origin !== undefined && deps.config.ADMIN_CORS_ORIGINS.includes(origin) });
    },
  });

  app.addHook("onResponse", async (request, reply) => {
    if (reply.statusCode >= 500 || deps.config.LOG_LEVEL === "debug" || deps.config.LOG_LEVEL === "trace") {
      request.log.info({ method: request.method, url: request.url.split("?")[0], status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, "request");
    }
  });

  // Pending pipeline signals go out before the process stops.
  app.addHook("onClose", async () => deps.notifier.flush());
  // Waiting widget requests answer (with what the inbox holds) instead of holding up the close.
  app.addHook("preClose", async () => deps.inboxWaiters.close());

  const isPublicPath = (path: string) => PUBLIC_PREFIXES.some((p) => path.startsWith(p));
  // The rate limit first: a refused request should cost as little as possible.
  registerRateLimit(app, deps, isPublicPath);
  registerInputGuard(app, isPublicPath);

  await registerOpenApi(app);
  await app.register(healthRoutes(deps));
  await app.register(projectsRoutes(deps));
  await app.register(ingestRoutes(deps));
  await app.register(usersRoutes(deps));
  await app.register(scoringRoutes(deps));
  await app.register(segmentsRoutes(deps));
  await app.register(lifecycleRoutes(deps));
  await app.register(trackerRoutes(deps));
  await app.register(identityRoutes(deps));
  await app.register(campaignsRoutes(deps));
  await app.register(messagingSettingsRoutes(deps));
  await app.register(widgetRoutes(deps));
  await app.register(emailLinksRoutes(deps));
  return app;
}
