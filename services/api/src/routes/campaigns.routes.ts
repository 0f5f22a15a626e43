import {
  AppError,
  campaignStats,
  createCampaign,
  deleteDraftCampaign,
  findUser,
  getCampaign,
  listCampaigns,
  listDecisions,
  setCampaignStatus,
  updateCampaign,
} from "@nurture/backend";
import { CAMPAIGN_STATUSES, campaignInputSchema } from "@nurture/core";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { AppDeps } from "../app-deps";
import { secretKeyAuth } from "../plugins/auth";

const campaignParams = z.object({ id: z.uuid() });
const paging = { limit: z.coerce.number().int().min(1).max(500).default(50), cursor: z.string().max(500).optional() };
const DAY_MS = 86_400_000;

const campaignHelp =
  "A campaign fires on a trigger (`event` with optional property filters, `segment_entered`, `segment_exited`, `lifecycle_changed`, `score_crossed`), " +
  "checks an optional `audience` condition (the segment language) when triggered and again before each step goes out, and sends its `steps` in order — " +
  "each with its own `delay`, optional `condition`, `channel` (email, popup, chat, webhook) and Liquid `content` " +
  '(`{{ user.name | default: "friend" }}`, `{{ event.properties.total }}`, `{{ unsubscribe_url }}`). Templates are parsed when saved; a broken one is refused ' +
  "with its field, line and column. `repeat` is `{ mode: \"once\" }` (default) or `{ mode: \"every\", days: N }`; `goal` counts conversions and revenue. " +
  "Campaigns start as drafts; only active ones fire. Send steps back with their `id` when editing so people who got a step never get it again.";

/** Campaigns (auto-messages): CRUD, status, statistics, and the per-user decision trace. */
export function campaignsRoutes(deps: AppDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.addHook("preValidation", secretKeyAuth(deps.db));

    const mustGet = async (projectId: string, id: string) => {
      const campaign = await getCampaign(deps.db, projectId, id);
      if (!campaign) throw new AppError("not_found", "Campaign not found");
      return campaign;
    };

    app.post(
      "/v1/campaigns",
      { schema: { tags: ["campaigns"], summary: "Create a campaign (a draft until activated)", description: campaignHelp, body: campaignInputSchema } },
      async (request, reply) => reply.code(201).send(await createCampaign(deps.db, request.project.id, request.body)),
    );

    app.get(
      "/v1/campaigns",
      { schema: { tags: ["campaigns"], summary: "List campaigns, newest first", querystring: z.object({ ...paging, status: z.enum(CAMPAIGN_STATUSES).optional() }) } },
      async (request) => listCampaigns(deps.db, request.project.id, request.query),
    );

    app.get("/v1/campaigns/:id", { schema: { tags: ["campaigns"], summary: "One campaign with its steps", params: campaignParams } }, async (request) =>
      mustGet(request.project.id, request.params.id),
    );

    app.put(
      "/v1/campaigns/:id",
      {
        schema: {
          tags: ["campaigns"],
          summary: "Replace a campaign's definition (its status is unchanged)",
          description: "Steps sent with their `id` keep it; steps left out are detached. Nobody is sent a step they already received.",
          params: campaignParams,
          body: campaignInputSchema,
        },
      },
      async (request) => updateCampaign(deps.db, request.project.id, request.params.id, request.body),
    );

    app.post(
      "/v1/campaigns/:id/status",
      {
        schema: {
          tags: ["campaigns"],
          summary: "Activate, pause or archive (draft → active ⇄ paused; anything → archived)",
          params: campaignParams,
          body: z.object({ status: z.enum(CAMPAIGN_STATUSES) }),
        },
      },
      async (request) => setCampaignStatus(deps.db, request.project.id, request.params.id, request.body.status, deps.now()),
    );

    app.delete(
      "/v1/campaigns/:id",
      { schema: { tags: ["campaigns"], summary: "Delete a draft (other campaigns are archived instead)", params: campaignParams } },
      async (request, reply) => {
        await deleteDraftCampaign(deps.db, request.project.id, request.params.id);
        return reply.code(204).send();
      },
    );

    app.get(
      "/v1/campaigns/:id/stats",
      {
        schema: {
          tags: ["campaigns"],
          summary: "Per step and in total: triggered, sent, delivered, opened, clicked, replied, unsubscribed, held, failed, converted, rate, revenue",
          description: "Counts messages created in [from, to) (default: the last 30 days); conversions and revenue are those credited to these messages.",
          params: campaignParams,
          querystring: z.object({ from: z.iso.datetime({ offset: true }).optional(), to: z.iso.datetime({ offset: true }).optional() }),
        },
      },
      async (request) => {
        const to = request.query.to ? new Date(request.query.to) : new Date(deps.now().getTime() + 1);
        const from = request.query.from ? new Date(request.query.from) : new Date(to.getTime() - 30 * DAY_MS);
        if (from >= to) throw new AppError("validation_failed", "`from` must be before `to`", [{ path: "querystring.from", message: "must be before to" }]);
        return campaignStats(deps.db, request.project.id, request.params.id, from, to);
      },
    );

    app.get(
      "/v1/users/:id/decisions",
      {
        schema: {
          tags: ["campaigns"],
          summary: "Why a user did or did not get a campaign: every trigger and send decision, newest first",
          description: "Each decision has an outcome, a reason and the audience / step condition traces node by node; `explanation` is the same in sentences.",
          params: z.object({ id: z.string().min(1).max(200) }),
          querystring: z.object({ ...paging, campaign: z.uuid().optional(), by: z.enum(["auto", "userId", "id", "anonymousId"]).default("auto") }),
        },
      },
      async (request) => {
        const user = await findUser(deps.db, request.project.id, request.params.id, request.query.by);
        if (!user) throw new AppError("not_found", `User ${JSON.stringify(request.params.id)} not found`);
        const { limit, cursor, campaign } = request.query;
        return listDecisions(deps.db, request.project.id, user.id, { limit, ...(cursor ? { cursor } : {}), ...(campaign ? { campaignId: campaign } : {}) });
      },
    );
  };
}
