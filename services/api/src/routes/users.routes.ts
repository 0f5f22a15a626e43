import { randomUUID } from "node:crypto";
import { AppError, buildCardView, findUser, ingestEvents, listUserEvents, listUsers, userSummary } from "@nurture/backend";
import { propertyOpSchema } from "@nurture/core";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { AppDeps } from "../app-deps";
import { secretKeyAuth } from "../plugins/auth";

const userParams = z.object({ id: z.string().min(1).max(200) });
const lookup = z.object({
  by: z.enum(["auto", "userId", "id", "anonymousId"]).default("auto").describe("How to read :id (default: the site's user id, else our internal id, else an anonymous id)"),
});
const paging = { limit: z.coerce.number().int().min(1).max(500).default(50), cursor: z.string().max(500).optional() };

export function usersRoutes(deps: AppDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.addHook("preValidation", secretKeyAuth(deps.db));

    const getUser = async (projectId: string, id: string, by: "auto" | "userId" | "id" | "anonymousId" = "auto") => {
      const user = await findUser(deps.db, projectId, id, by);
      if (!user) throw new AppError("not_found", `User ${JSON.stringify(id)} not found`);
      return user;
    };

    app.get(
      "/v1/users",
      {
        schema: {
          tags: ["users"],
          summary: "List or search user cards, most recently seen first",
          querystring: z.object({
            ...paging,
            q: z.string().min(1).max(200).optional().describe("Prefix of the user id, email or name"),
            known: z.enum(["true", "false"]).transform((v) => v === "true").optional().describe("Only identified (true) or anonymous (false) users"),
          }),
        },
      },
      async (request) => {
        const { limit, cursor, q, known } = request.query;
        const page = await listUsers(deps.db, request.project.id, { limit, cursor, q, known });
        return { items: page.items.map(userSummary), nextCursor: page.nextCursor };
      },
    );

    app.get(
      "/v1/users/:id",
      { schema: { tags: ["users"], summary: "The user card", params: userParams, querystring: lookup } },
      async (request) => buildCardView(deps.db, await getUser(request.project.id, request.params.id, request.query.by)),
    );

    app.get(
      "/v1/users/:id/events",
      {
        schema: {
          tags: ["users"],
          summary: "The user's timeline, newest first",
          params: userParams,
          querystring: lookup.extend({ ...paging, name: z.string().min(1).max(200).optional() }),
        },
      },
      async (request) => {
        const user = await getUser(request.project.id, request.params.id, request.query.by);
        const { limit, cursor, name } = request.query;
        return listUserEvents(deps.db, request.project.id, user.id, { limit, cursor, name });
      },
    );

    app.post(
      "/v1/users/:id/props",
      {
        schema: {
          tags: ["users"],
          summary: "Change properties with operations (set, set_once, unset, increment, append, union, remove); creates the user if needed",
          params: userParams,
          body: z.object({ ops: z.array(propertyOpSchema).min(1).max(100) }),
          headers: z.object({ "idempotency-key": z.string().min(1).max(200).optional() }).loose(),
        },
      },
      async (request) => {
        const { id } = request.params;
        const result = await ingestEvents(deps.db, request.project.id, [
          {
            type: "identify",
            name: "$props",
            messageId: request.headers["idempotency-key"] ? `$props:${request.headers["idempotency-key"]}` : randomUUID(),
            userId: id,
            properties: { ops: request.body.ops },
            ops: request.body.ops,
            context: { source: "api" },
            occurredAt: deps.now(),
          },
        ]);
        if (result.stored > 0) deps.notifier.notify(request.project.id, result.userIds);
        return buildCardView(deps.db, await getUser(request.project.id, id, "userId"));
      },
    );
  };
}
