import { randomBytes } from "node:crypto";
import { AppError, updateProjectSettings } from "@nurture/backend";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { AppDeps } from "../app-deps";
import { secretKeyAuth } from "../plugins/auth";
import { IDENTITY_SETTINGS_SECTION, identitySettings } from "../plugins/identity-verification";

const status = z.object({
  enabled: z.boolean().describe("An identity secret exists"),
  required: z.boolean().describe("Unverified user ids are refused from browsers"),
});

/** The project's identity-verification secret and policy (admin, secret key). */
export function identityRoutes(deps: AppDeps): FastifyPluginAsyncZod {
  return async (app) => {
    const auth = secretKeyAuth(deps.db);
    const view = (settings: { secret: string | null; required: boolean }) => ({ enabled: settings.secret !== null, required: settings.required });

    app.get(
      "/v1/project/identity-verification",
      { schema: { tags: ["tracker"], summary: "Whether browsers must prove user ids with a signed token", response: { 200: status } }, preValidation: auth },
      async (request) => view(identitySettings(request.project)),
    );

    app.post(
      "/v1/project/identity-verification/secret",
      {
        schema: {
          tags: ["tracker"],
          summary: "Generate (or replace) the identity secret; verification becomes required",
          description:
            "Your server signs, for each logged-in visitor, a JWT with HS256, `sub` = the user id and a short `exp`, using this secret, and passes it to `nurture.identify(userId, traits, { token })`. Tokens signed with the previous secret stop working at once.",
          response: { 200: status.extend({ secret: z.string() }) },
        },
        preValidation: auth,
      },
      async (request) => {
        const secret = randomBytes(32).toString("base64url");
        await updateProjectSettings(deps.db, request.project.id, IDENTITY_SETTINGS_SECTION, { secret, required: true });
        return { enabled: true, required: true, secret };
      },
    );

    app.put(
      "/v1/project/identity-verification",
      {
        schema: {
          tags: ["tracker"],
          summary: "Require verified user ids, or accept unverified ones while your site is being updated",
          body: z.object({ required: z.boolean() }),
          response: { 200: status },
        },
        preValidation: auth,
      },
      async (request) => {
        const current = identitySettings(request.project);
        if (!current.secret) throw new AppError("conflict", "Generate the identity secret first: POST /v1/project/identity-verification/secret");
        await updateProjectSettings(deps.db, request.project.id, IDENTITY_SETTINGS_SECTION, { secret: current.secret, required: request.body.required });
        return view({ secret: current.secret, required: request.body.required });
      },
    );
  };
}
