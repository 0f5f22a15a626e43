import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { FastifyInstance } from "fastify";
import { jsonSchemaTransform } from "fastify-type-provider-zod";

/** The OpenAPI document is generated from the routes' zod schemas; `/docs` browses it. */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      info: {
        title: "Nurture API",
        version: "0.1.0",
        description: [
          "Self-hosted marketing automation. Tracking routes (`/v1/track`, `/v1/identify`, `/v1/page`, `/v1/alias`, `/v1/batch`) are Segment-compatible",
          "and take the project's **write key** as the HTTP Basic user name (or `writeKey` in the body).",
          "Admin routes take the **secret key**: `Authorization: Bearer sk_…`. Errors are `{ error: { code, message, details? } }`.",
        ].join(" "),
      },
      components: {
        securitySchemes: {
          secretKey: { type: "http", scheme: "bearer" },
          writeKey: { type: "http", scheme: "basic" },
        },
      },
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: "/docs" });
}
