import { createSegmentTask, enqueueSegmentTasks, getLifecycleSettings, lifecycleCounts, pendingSegmentTasks, saveLifecycleSettings } from "@nurture/backend";
import { lifecycleSettingsSchema } from "@nurture/core";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type { AppDeps } from "../app-deps";
import { secretKeyAuth } from "../plugins/auth";

/** Lifecycle stages (new → novice → engaged → power): the project's settings and the count per stage. */
export function lifecycleRoutes(deps: AppDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.addHook("preValidation", secretKeyAuth(deps.db));

    const restaging = async (projectId: string) => (await pendingSegmentTasks(deps.db, projectId)).some((t) => t.kind === "lifecycle-backfill");

    app.get(
      "/v1/lifecycle",
      {
        schema: {
          tags: ["lifecycle"],
          summary: "How many users are in each lifecycle stage",
          description: "`none` counts anonymous visitors. `restaging` is true while users are being re-staged after a settings change.",
        },
      },
      async (request) => {
        const projectId = request.project.id;
        const [counts, settings, busy] = await Promise.all([lifecycleCounts(deps.db, projectId), getLifecycleSettings(deps.db, projectId), restaging(projectId)]);
        return { counts, settings, restaging: busy };
      },
    );

    app.get("/v1/lifecycle/settings", { schema: { tags: ["lifecycle"], summary: "The project's lifecycle settings" } }, async (request) =>
      getLifecycleSettings(deps.db, request.project.id),
    );

    app.put(
      "/v1/lifecycle/settings",
      {
        schema: {
          tags: ["lifecycle"],
          summary: "Name the core, activity and advanced-feature events and the stage thresholds; every user is re-staged",
          description:
            "new: core action never happened. novice: did it, not engaged. engaged: activity within `activeWithinDays` (default 7), core action within " +
            "`coreWithinDays` (14) and more than `coreCountAbove` (5) in total, advanced feature never used. power: engaged's activity and core " +
            "requirements, used the advanced feature, and (when `powerMinScore` is set) a lead score at or above it. Without `activityEvent`, any " +
            "activity counts. Only identified users have a stage. Re-staging runs in the background; changes go on the timeline as `$lifecycle_changed`.",
          body: lifecycleSettingsSchema,
        },
      },
      async (request) => {
        const projectId = request.project.id;
        const settings = await deps.db.transaction().execute(async (trx) => {
          const saved = await saveLifecycleSettings(trx, projectId, request.body);
          await createSegmentTask(trx, projectId, "lifecycle-backfill", null, deps.now());
          return saved;
        });
        await enqueueSegmentTasks(deps.db, deps.queues, projectId, deps.log);
        return { settings, restaging: true };
      },
    );
  };
}
