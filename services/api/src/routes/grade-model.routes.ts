import { AppError, deleteGradeModel, getGradeModel, getScoringJob, saveGradeModel, startScoringJob } from "@nurture/backend";
import { computeGrade, DEFAULT_GRADE_BANDS, gradeModelSchema } from "@nurture/core";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { AppDeps } from "../app-deps";

/** The grade model (ability to pay); registered inside scoringRoutes, which authenticates. */
export function gradeModelRoutes(deps: AppDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get("/v1/grade-model", { schema: { tags: ["scoring"], summary: "The project's grade model (null when none)" } }, async (request) => {
      const stored = await getGradeModel(deps.db, request.project.id);
      return { model: stored?.model ?? null, updatedAt: stored?.updatedAt ?? null, defaultBands: DEFAULT_GRADE_BANDS };
    });

    app.put(
      "/v1/grade-model",
      {
        schema: {
          tags: ["scoring"],
          summary: "Replace the grade model; every card is regraded by a backfill job",
          description:
            "Criteria read one property each: `number` criteria split it into ranges (`min` ≤ value < `max`), `text` criteria into lists of values " +
            "(trimmed, case-insensitive). Each range/value gives points, `otherwise` applies when none does. The grade is the band of " +
            "Σ weight·points ÷ Σ weight; bands go best first, each with its `min`, the last without (default A ≥ 80, B ≥ 60, C ≥ 40, D ≥ 20, E).",
          body: gradeModelSchema,
        },
      },
      async (request) => {
        await saveGradeModel(deps.db, request.project.id, request.body, deps.now());
        const { job } = await startScoringJob(deps.db, deps.queues, request.project.id, "backfill-grades");
        return { model: request.body, backfill: job };
      },
    );

    app.delete("/v1/grade-model", { schema: { tags: ["scoring"], summary: "Remove the grade model; grades are cleared by a backfill job" } }, async (request) => {
      if (!(await deleteGradeModel(deps.db, request.project.id))) throw new AppError("not_found", "The project has no grade model");
      const { job } = await startScoringJob(deps.db, deps.queues, request.project.id, "backfill-grades");
      return { model: null, backfill: job };
    });

    app.get(
      "/v1/grade-model/backfill/:jobId",
      { schema: { tags: ["scoring"], summary: "Progress of a grade backfill job", params: z.object({ jobId: z.uuid() }) } },
      async (request) => getScoringJob(deps.db, request.project.id, request.params.jobId, "backfill-grades"),
    );

    app.post(
      "/v1/grade-model/preview",
      {
        schema: {
          tags: ["scoring"],
          summary: "Grade a profile with the stored model (or one given) without saving anything",
          body: z.strictObject({ properties: z.record(z.string(), z.unknown()), model: gradeModelSchema.optional() }),
        },
      },
      async (request) => {
        const model = request.body.model ?? (await getGradeModel(deps.db, request.project.id))?.model ?? null;
        if (!model) throw new AppError("not_found", "The project has no grade model; give one in `model`");
        return computeGrade(model, request.body.properties);
      },
    );
  };
}
