import {
  AppError,
  createScoringRule,
  deleteScoringRule,
  findUser,
  getScoringJob,
  getScoringRule,
  getScoringSettings,
  listScoringRules,
  loadDefaultScoringRules,
  ruleView,
  scoreHistory,
  startScoringJob,
  updateScoringRule,
  updateScoringSettings,
} from "@nurture/backend";
import { DEFAULT_SCORING_RULES, scoringRuleInputSchema, scoringRulePatchSchema, scoringSettingsPatchSchema } from "@nurture/core";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { AppDeps } from "../app-deps";
import { secretKeyAuth } from "../plugins/auth";
import { gradeModelRoutes } from "./grade-model.routes";
import { valueAnalysisRoutes } from "./value-analysis.routes";

const ruleParams = z.object({ id: z.uuid() });
const jobParams = z.object({ jobId: z.uuid() });

const defaultsList = DEFAULT_SCORING_RULES.map((d) => `${d.name}: \`${d.event}\` ${d.points > 0 ? "+" : ""}${d.points}${d.limit.type === "none" ? "" : ` (${d.limit.type.replace(/_/g, " ")})`}`).join("; ");

/** Lead scoring (rules, settings, recompute, history), grading and customer value analysis. */
export function scoringRoutes(deps: AppDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.addHook("preValidation", secretKeyAuth(deps.db));

    app.get("/v1/scoring-rules", { schema: { tags: ["scoring"], summary: "List the scoring rules, in the order they apply" } }, async (request) => ({
      items: (await listScoringRules(deps.db, request.project.id)).map(ruleView),
    }));

    app.post(
      "/v1/scoring-rules",
      {
        schema: {
          tags: ["scoring"],
          summary: "Create a scoring rule: event (+ property filters) → points, with an optional limit and expiry",
          description:
            "Applies to events processed from now on. Limits: `none`, `once_per_user`, `max_times` (with `times`), `once_per_day` (UTC day of the event). " +
            "`expiresAfterDays` makes the points stop counting that many days after the event; the score drops by itself then. " +
            "`where` takes the segment language's property filters, e.g. `[{ property: \"path\", op: \"contains\", value: \"/pricing\" }]`.",
          body: scoringRuleInputSchema,
        },
      },
      async (request, reply) => reply.code(201).send(ruleView(await createScoringRule(deps.db, request.project.id, request.body))),
    );

    app.post(
      "/v1/scoring-rules/defaults",
      {
        schema: {
          tags: ["scoring"],
          summary: "Load the default rule set (rules already loaded are kept as they are)",
          description: `The default set: ${defaultsList}.`,
        },
      },
      async (request) => {
        const { created, existing } = await loadDefaultScoringRules(deps.db, request.project.id);
        return { created: created.map(ruleView), existing, items: (await listScoringRules(deps.db, request.project.id)).map(ruleView) };
      },
    );

    app.get("/v1/scoring-rules/:id", { schema: { tags: ["scoring"], summary: "One scoring rule", params: ruleParams } }, async (request) =>
      ruleView(await getScoringRule(deps.db, request.project.id, request.params.id)),
    );

    app.patch(
      "/v1/scoring-rules/:id",
      {
        schema: {
          tags: ["scoring"],
          summary: "Change a scoring rule (future events; POST /v1/scoring/recompute restates the history)",
          params: ruleParams,
          body: scoringRulePatchSchema,
        },
      },
      async (request) => ruleView(await updateScoringRule(deps.db, request.project.id, request.params.id, request.body, deps.now())),
    );

    app.delete(
      "/v1/scoring-rules/:id",
      { schema: { tags: ["scoring"], summary: "Delete a scoring rule (its points stand until POST /v1/scoring/recompute)", params: ruleParams } },
      async (request, reply) => {
        await deleteScoringRule(deps.db, request.project.id, request.params.id, deps.now());
        return reply.code(204).send();
      },
    );

    app.get("/v1/scoring/settings", { schema: { tags: ["scoring"], summary: "Score thresholds ($score_crossed) and interest band minimums" } }, async (request) =>
      getScoringSettings(deps.db, request.project.id),
    );

    app.put(
      "/v1/scoring/settings",
      {
        schema: {
          tags: ["scoring"],
          summary: "Change score thresholds and/or interest bands",
          description: "`thresholds`: crossing one (either way) emits `$score_crossed` {threshold, direction, score}. `interestBands`: minimum score of bands 1 (hottest), 2 and 3; below is band 4.",
          body: scoringSettingsPatchSchema,
        },
      },
      async (request) => updateScoringSettings(deps.db, request.project.id, request.body),
    );

    app.post(
      "/v1/scoring/recompute",
      {
        schema: {
          tags: ["scoring"],
          summary: "Recompute every score of the project from the stored events with the current rules",
          description: "Starts a job (or joins the one running) and answers 202 with its id; follow it at GET /v1/scoring/recompute/{jobId}.",
        },
      },
      async (request, reply) => {
        const { job, joined } = await startScoringJob(deps.db, deps.queues, request.project.id, "recompute-scores");
        return reply.code(202).send({ ...job, joined });
      },
    );

    app.get("/v1/scoring/recompute/:jobId", { schema: { tags: ["scoring"], summary: "Progress of a recompute job", params: jobParams } }, async (request) =>
      getScoringJob(deps.db, request.project.id, request.params.jobId, "recompute-scores"),
    );

    app.get(
      "/v1/users/:id/score-history",
      {
        schema: {
          tags: ["scoring"],
          summary: "Every change of the user's score, newest first (event, rule, delta, new total)",
          params: z.object({ id: z.string().min(1).max(200) }),
          querystring: z.object({
            by: z.enum(["auto", "userId", "id", "anonymousId"]).default("auto"),
            limit: z.coerce.number().int().min(1).max(500).default(50),
            cursor: z.string().max(500).optional(),
          }),
        },
      },
      async (request) => {
        const user = await findUser(deps.db, request.project.id, request.params.id, request.query.by);
        if (!user) throw new AppError("not_found", `User ${JSON.stringify(request.params.id)} not found`);
        return scoreHistory(deps.db, user.id, { limit: request.query.limit, cursor: request.query.cursor });
      },
    );

    await app.register(gradeModelRoutes(deps));
    await app.register(valueAnalysisRoutes(deps));
  };
}
