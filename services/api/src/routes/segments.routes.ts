import {
  AppError,
  countSegmentMembers,
  createSegment,
  deleteSegment,
  explainMembership,
  findUser,
  getSegmentRow,
  listSegmentMembers,
  listSegmentRows,
  previewSegment,
  segmentView,
  updateSegment,
  userSummary,
} from "@nurture/backend";
import { conditionSchema } from "@nurture/core";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { AppDeps } from "../app-deps";
import { secretKeyAuth } from "../plugins/auth";

const segmentParams = z.object({ id: z.uuid() });
const paging = { limit: z.coerce.number().int().min(1).max(500).default(50), cursor: z.string().max(500).optional() };
const name = z.string().trim().min(1).max(200);
const description = z.string().max(2000).nullable().optional();

const conditionHelp =
  "Conditions are JSON trees: `{ and: [...] }`, `{ or: [...] }`, `{ not: {...} }` over leaves such as " +
  '`{ property: "plan", op: "eq", value: "pro" }`, `{ event: "order_paid", count: { op: "gte", value: 3 }, withinDays: 30 }`, ' +
  '`{ event: "$session_start", last: { op: "more_than_days_ago", days: 14 } }`, `{ event: "order_paid", happened: false }`, ' +
  '`{ score: { op: "gte", value: 50 } }`, `{ lifecycleStage: { op: "eq", value: "engaged" } }`, `{ segment: "<id>" }`, `{ emailKnown: true }`. ' +
  "Windows count UTC calendar days, today included. An invalid condition is refused with 400 naming the bad node (e.g. `condition.and.2.count.value`).";

/** Segments: saved conditions whose membership is kept current by the pipeline and by time. */
export function segmentsRoutes(deps: AppDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.addHook("preValidation", secretKeyAuth(deps.db));
    const services = { db: deps.db, queues: deps.queues, log: deps.log };

    app.get(
      "/v1/segments",
      { schema: { tags: ["segments"], summary: "List segments with their member counts, oldest first", querystring: z.object(paging) } },
      async (request) => {
        const page = await listSegmentRows(deps.db, request.project.id, request.query);
        return { items: page.items.map((row) => segmentView(row, Number(row.members))), nextCursor: page.nextCursor };
      },
    );

    app.post(
      "/v1/segments",
      {
        schema: {
          tags: ["segments"],
          summary: "Create a segment; its membership is computed at once",
          description: `${conditionHelp} Members found now join at once; their \`$segment_entered\` timeline events are written in the background.`,
          body: z.object({ name, description, condition: conditionSchema }),
        },
      },
      async (request, reply) => reply.code(201).send(await createSegment(services, request.project.id, request.body, deps.now())),
    );

    app.post(
      "/v1/segments/preview",
      {
        schema: {
          tags: ["segments"],
          summary: "Count the users a draft condition matches now, with a sample (nothing is saved)",
          description: conditionHelp,
          body: z.object({ condition: conditionSchema, sample: z.number().int().min(0).max(100).default(10) }),
        },
      },
      async (request) => {
        const preview = await previewSegment(deps.db, request.project.id, request.body.condition, deps.now(), request.body.sample);
        return { count: preview.count, sample: preview.sample.map(userSummary) };
      },
    );

    app.get("/v1/segments/:id", { schema: { tags: ["segments"], summary: "One segment", params: segmentParams } }, async (request) => {
      const row = await getSegmentRow(deps.db, request.project.id, request.params.id);
      if (!row) throw new AppError("not_found", "Segment not found");
      return segmentView(row, await countSegmentMembers(deps.db, row.id));
    });

    app.patch(
      "/v1/segments/:id",
      {
        schema: {
          tags: ["segments"],
          summary: "Change a segment; a new condition recomputes membership (entries and exits go on the timeline)",
          description: conditionHelp,
          params: segmentParams,
          body: z
            .object({ name: name.optional(), description, condition: conditionSchema.optional() })
            .refine((b) => b.name !== undefined || b.description !== undefined || b.condition !== undefined, "change at least one of name, description, condition"),
        },
      },
      async (request) => updateSegment(services, request.project.id, request.params.id, request.body, deps.now()),
    );

    app.delete(
      "/v1/segments/:id",
      { schema: { tags: ["segments"], summary: "Delete a segment (refused while another segment refers to it)", params: segmentParams } },
      async (request, reply) => {
        await deleteSegment(services, request.project.id, request.params.id, deps.now());
        return reply.code(204).send();
      },
    );

    app.get(
      "/v1/segments/:id/users",
      { schema: { tags: ["segments"], summary: "The segment's members, in a stable order (cursor paging)", params: segmentParams, querystring: z.object(paging) } },
      async (request) => {
        const row = await getSegmentRow(deps.db, request.project.id, request.params.id);
        if (!row) throw new AppError("not_found", "Segment not found");
        const page = await listSegmentMembers(deps.db, row.id, request.query);
        return { items: page.items.map((m) => ({ ...userSummary(m.user), enteredAt: m.enteredAt })), nextCursor: page.nextCursor };
      },
    );

    app.get(
      "/v1/segments/:id/users/:userId/explain",
      {
        schema: {
          tags: ["segments"],
          summary: "Why a user is or is not in the segment: every node of the condition with the value it saw",
          params: segmentParams.extend({ userId: z.string().min(1).max(200) }),
          querystring: z.object({ by: z.enum(["auto", "userId", "id", "anonymousId"]).default("auto") }),
        },
      },
      async (request) => {
        const user = await findUser(deps.db, request.project.id, request.params.userId, request.query.by);
        if (!user) throw new AppError("not_found", `User ${JSON.stringify(request.params.userId)} not found`);
        return explainMembership(deps.db, request.project.id, request.params.id, user, deps.now());
      },
    );
  };
}
