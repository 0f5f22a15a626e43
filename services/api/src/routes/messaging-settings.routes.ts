import { messagingSettingsOf, saveMessagingSettings, signingSecretOf, webhookSecret } from "@nurture/backend";
import { messagingSettingsSchema } from "@nurture/core";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type { AppDeps } from "../app-deps";
import { secretKeyAuth } from "../plugins/auth";

/** Project-wide messaging rules: time zone, quiet hours, daily caps per channel, default sender. */
export function messagingSettingsRoutes(deps: AppDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.addHook("preValidation", secretKeyAuth(deps.db));
    const view = (projectId: string, settings: ReturnType<typeof messagingSettingsOf>) => ({
      ...settings,
      // Webhook receivers verify `X-Nurture-Signature: t=…,v1=hex(HMAC-SHA256(secret, "<t>.<body>"))` with this.
      webhookSigningSecret: deps.config.SIGNING_SECRET ? webhookSecret(signingSecretOf(deps.config), projectId) : null,
    });

    app.get("/v1/messaging/settings", { schema: { tags: ["campaigns"], summary: "The project's messaging rules" } }, async (request) =>
      view(request.project.id, messagingSettingsOf(request.project)),
    );

    app.put(
      "/v1/messaging/settings",
      {
        schema: {
          tags: ["campaigns"],
          summary: "Replace the messaging rules",
          description:
            "`timeZone` (IANA), `quietHours` `{ start: \"21:00\", end: \"08:00\", channels: [\"email\"] }` or null (messages wait until the window ends), " +
            "`dailyCaps` `{ email: 3, popup: 5 }` (per user per local day, across campaigns; what they hold back is recorded), `email` default sender.",
          body: messagingSettingsSchema,
        },
      },
      async (request) => view(request.project.id, await saveMessagingSettings(deps.db, request.project.id, request.body)),
    );
  };
}
