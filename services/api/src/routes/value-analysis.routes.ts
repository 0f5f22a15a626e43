import { analyzeCustomerValue, AppError, listValueAnalyses } from "@nurture/backend";
import { abcXyzCutoffsSchema, DEFAULT_ABC_XYZ_CUTOFFS } from "@nurture/core";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { AppDeps } from "../app-deps";

const instant = z
  .union([z.iso.datetime({ offset: true }), z.iso.date()], { error: "must be an ISO 8601 date or date-time, e.g. 2026-01-01 or 2026-01-01T00:00:00Z" })
  .transform((s) => new Date(s));

const propertyPath = z
  .string()
  .min(1)
  .max(200)
  .refine((p) => p.split(".").every((s) => s.length > 0 && !["__proto__", "constructor", "prototype"].includes(s)), 'must be a property name or a dotted path such as "order.total"');

const abcXyzBody = z
  .strictObject({
    purchaseEvent: z.string().trim().min(1).max(200).describe("Name of the purchase event, e.g. order_completed"),
    revenueProperty: propertyPath.describe("Property of that event holding the revenue (a JSON number or numeric text)"),
    from: instant.describe("Start of the period (inclusive)"),
    to: instant.optional().describe("End of the period (exclusive); default now"),
    cutoffs: abcXyzCutoffsSchema.optional().describe("Cumulative-share cut-offs in percent; default { abc: [80, 95], xyz: [80, 95] }"),
    store: z.boolean().default(false).describe("Write the classes (AX … CZ) to the cards' valueClass; others are cleared"),
  })
  .refine((b) => b.to === undefined || b.from < b.to, { message: "must be after from", path: ["to"] });

/** Customer value (ABC/XYZ); registered inside scoringRoutes, which authenticates. */
export function valueAnalysisRoutes(deps: AppDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.post(
      "/v1/analysis/abc-xyz",
      {
        schema: {
          tags: ["scoring"],
          summary: "ABC/XYZ analysis of customers over a period: the 3×3 matrix, optionally stored on the cards",
          description:
            "Customers (users with at least one purchase event in the period) are ranked by revenue, highest first: those before whom less than " +
            "80% of the revenue is held are A, less than 95% B, the rest C. The same by number of purchases gives X / Y / Z.",
          body: abcXyzBody,
        },
      },
      async (request) => {
        const body = request.body;
        const now = deps.now();
        const to = body.to ?? now;
        if (body.from >= to) throw new AppError("validation_failed", "from must be before to", [{ path: "body.from", message: "must be before to (now)" }]);
        return analyzeCustomerValue(
          deps.db,
          request.project.id,
          { purchaseEvent: body.purchaseEvent, revenueProperty: body.revenueProperty, from: body.from, to, cutoffs: body.cutoffs ?? DEFAULT_ABC_XYZ_CUTOFFS, store: body.store },
          now,
        );
      },
    );

    app.get(
      "/v1/analysis/abc-xyz",
      { schema: { tags: ["scoring"], summary: "Past ABC/XYZ analyses, newest first", querystring: z.object({ limit: z.coerce.number().int().min(1).max(100).default(20) }) } },
      async (request) => ({ items: await listValueAnalyses(deps.db, request.project.id, request.query.limit) }),
    );
  };
}
