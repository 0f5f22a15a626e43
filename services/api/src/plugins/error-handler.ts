import { AppError, ERROR_STATUS, type ErrorDetail } from "@nurture/backend";
import type { FastifyError, FastifyInstance } from "fastify";
import { hasZodFastifySchemaValidationErrors } from "fastify-type-provider-zod";

/** PostgreSQL or the network to it is down: the request was not applied, the client may retry. */
function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | undefined;
  if (!e) return false;
  if (e.code && ["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "57P01", "57P02", "57P03", "08000", "08003", "08006", "08001", "08004"].includes(e.code)) return true;
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(e.message ?? "");
}

function validationDetails(err: { validation: { instancePath: string; message?: string }[]; validationContext?: string }): ErrorDetail[] {
  return err.validation.map((v) => {
    const path = v.instancePath.replace(/^\//, "").split("/").filter(Boolean).join(".");
    return { path: [err.validationContext, path].filter(Boolean).join("."), message: v.message ?? "is invalid" };
  });
}

/**
 * The one place errors become HTTP responses: `{ error: { code, message, details? } }`.
 * Domain errors carry their code; validation errors name each field path; anything unexpected is
 * logged with the request id and answered 500 without internals.
 */
export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err instanceof AppError) {
      return reply.code(err.status).send({ error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) } });
    }
    if (hasZodFastifySchemaValidationErrors(err)) {
      const details = validationDetails(err as never);
      return reply.code(400).send({
        error: { code: "validation_failed", message: `Invalid request: ${details.map((d) => `${d.path}: ${d.message}`).join("; ")}`, details },
      });
    }
    if (err.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
      return reply.code(413).send({ error: { code: "payload_too_large", message: `Request body is larger than the ${request.routeOptions.bodyLimit ?? 0} bytes allowed here` } });
    }
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      const code = err.statusCode === 415 ? "unsupported_media_type" : err.statusCode === 413 ? "payload_too_large" : "bad_request";
      return reply.code(err.statusCode).send({ error: { code, message: err.message } });
    }
    if (isDatabaseUnavailable(err)) {
      request.log.error({ err }, "database unavailable");
      return reply
        .code(ERROR_STATUS.unavailable)
        .header("retry-after", "5")
        .send({ error: { code: "unavailable", message: "The database is unavailable; nothing was stored. Retry later." } });
    }
    request.log.error({ err }, "unhandled error");
    return reply.code(500).send({ error: { code: "internal", message: "Internal error; it has been logged with the request id.", requestId: request.id } });
  });

  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: { code: "not_found", message: `No route ${request.method} ${request.url.split("?")[0]}` } }),
  );
}
