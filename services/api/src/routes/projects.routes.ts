import { createProject, rotateProjectKeys } from "@nurture/backend";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { AppDeps } from "../app-deps";
import { adminTokenAuth, forgetCachedWriteKeys, secretKeyAuth } from "../plugins/auth";

export const projectNameSchema = z.string().trim().min(1).max(200);
const rotateBody = z.object({
  keys: z.array(z.enum(["write", "secret"])).min(1).default(["write", "secret"]).describe("Which keys to replace; the old ones stop working at once"),
});

export function projectsRoutes(deps: AppDeps): FastifyPluginAsyncZod {
  return async (app) => {
    const operator = adminTokenAuth(deps.config.NURTURE_ADMIN_TOKEN);
    const project = secretKeyAuth(deps.db);

    app.post(
      "/v1/projects",
      {
        schema: { tags: ["projects"], summary: "Create a project (operator token)", body: z.object({ name: projectNameSchema }) },
        preValidation: operator,
      },
      async (request, reply) => reply.code(201).send(await createProject(deps.db, request.body.name)),
    );

    app.post(
      "/v1/projects/:id/keys/rotate",
      {
        schema: { tags: ["projects"], summary: "Rotate a project's keys (operator token)", params: z.object({ id: z.uuid() }), body: rotateBody },
        preValidation: operator,
      },
      async (request) => {
        const keys = await rotateProjectKeys(deps.db, request.params.id, request.body.keys);
        forgetCachedWriteKeys(deps.db);
        return keys;
      },
    );

    app.get("/v1/project", { schema: { tags: ["projects"], summary: "The project of this secret key" }, preValidation: project }, async (request) => ({
      id: request.project.id,
      name: request.project.name,
      writeKey: request.project.write_key,
      settings: request.project.settings,
      createdAt: request.project.created_at,
    }));

    app.post(
      "/v1/project/keys/rotate",
      { schema: { tags: ["projects"], summary: "Rotate this project's keys", body: rotateBody }, preValidation: project },
      async (request) => {
        const keys = await rotateProjectKeys(deps.db, request.project.id, request.body.keys);
        forgetCachedWriteKeys(deps.db);
        return keys;
      },
    );
  };
}
