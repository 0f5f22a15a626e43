import { emptyMatrix, VALUE_CLASSES, type AbcXyzCutoffs, type AbcXyzMatrix, type ValueClass } from "@nurture/core";
import type { Db } from "@nurture/db";
import { sql } from "kysely";

export interface AbcXyzParams {
  purchaseEvent: string;
  /** Property of the purchase event holding its revenue (a dotted path reaches nested objects). */
  revenueProperty: string;
  /** Purchases with from ≤ occurred_at < to. */
  from: Date;
  to: Date;
  cutoffs: AbcXyzCutoffs;
  /** Also write each customer's class to users.value_class (and clear it on everyone else). */
  store: boolean;
}

export interface AbcXyzResult {
  id: string;
  params: { purchaseEvent: string; revenueProperty: string; from: Date; to: Date; cutoffs: AbcXyzCutoffs };
  customers: number;
  revenue: number;
  purchases: number;
  rows: ["A", "B", "C"];
  columns: ["X", "Y", "Z"];
  cells: AbcXyzMatrix;
  stored: boolean;
  /** Cards whose value class this analysis changed (when stored). */
  updatedUsers: number;
  createdAt: Date;
}

/** Same recognition of numbers in text as the grade model's `numericValue`. */
const ANALYSIS_WORK_MEM = "64MB";

const NUMERIC_TEXT_SQL = "^-?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][-+]?[0-9]+)?$";

/**
 * ABC/XYZ over a period, set-based: per-customer revenue and purchase counts from the events
 * index (project, name, time), two window sums for the cumulative share held by the customers ranked
 * before each one, and the 3×3 aggregate. Semantics are `classifyAbcXyz`'s (@nurture/core): ranked
 * highest first, ties by user id; revenue is a JSON number or numeric text, anything else counts 0.
 * When storing, the classes are written to users.value_class in the same transaction; changed cards
 * get a pipeline tick so segments on valueClass follow.
 */
export async function analyzeCustomerValue(db: Db, projectId: string, params: AbcXyzParams, now: Date): Promise<AbcXyzResult> {
  const path = params.revenueProperty.split(".");
  const [a1, a2] = params.cutoffs.abc;
  const [x1, x2] = params.cutoffs.xyz;
  const classes = sql`
    purchases AS (
      SELECT user_id,
        sum(CASE jsonb_typeof(properties #> ${path}::text[])
              WHEN 'number' THEN (properties #>> ${path}::text[])::numeric
              WHEN 'string' THEN CASE WHEN btrim(properties #>> ${path}::text[]) ~ ${NUMERIC_TEXT_SQL} THEN btrim(properties #>> ${path}::text[])::numeric ELSE 0 END
              ELSE 0 END) AS revenue,
        count(*) AS purchases
      FROM events
      WHERE project_id = ${projectId} AND name = ${params.purchaseEvent} AND occurred_at >= ${params.from} AND occurred_at < ${params.to}
      GROUP BY user_id
    ),
    totals AS (SELECT coalesce(sum(revenue), 0) AS revenue, coalesce(sum(purchases), 0) AS purchases FROM purchases),
    ranked AS (
      SELECT p.*,
        coalesce(sum(revenue) OVER (ORDER BY revenue DESC, user_id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS revenue_before,
        coalesce(sum(purchases) OVER (ORDER BY purchases DESC, user_id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS purchases_before
      FROM purchases p
    ),
    classes AS (
      SELECT r.user_id, r.revenue, r.purchases,
        CASE WHEN t.revenue <= 0 THEN 'C' WHEN 100 * r.revenue_before < ${a1}::numeric * t.revenue THEN 'A' WHEN 100 * r.revenue_before < ${a2}::numeric * t.revenue THEN 'B' ELSE 'C' END
        || CASE WHEN t.purchases <= 0 THEN 'Z' WHEN 100 * r.purchases_before < ${x1}::numeric * t.purchases THEN 'X' WHEN 100 * r.purchases_before < ${x2}::numeric * t.purchases THEN 'Y' ELSE 'Z' END AS value_class
      FROM ranked r CROSS JOIN totals t
    )`;
  type CellRow = { value_class: ValueClass | null; customers: number; revenue: number | null; purchases: number | null };
  const { rows, updatedUsers } = await db.transaction().execute(async (trx) => {
    // ~100k customers' sorts and hashes fit in memory instead of spilling to disk (and may run in parallel).
    await sql.raw(`SET LOCAL work_mem = '${ANALYSIS_WORK_MEM}'`).execute(trx);
    if (!params.store) {
      const result = await sql<CellRow>`
        WITH ${classes}
        SELECT value_class, count(*) AS customers, sum(revenue) AS revenue, sum(purchases) AS purchases FROM classes GROUP BY value_class`.execute(trx);
      return { rows: result.rows, updatedUsers: 0 };
    }
    // Materialized once, then written and summed: a statement with writes could not run in parallel.
    await sql`CREATE TEMP TABLE value_classes ON COMMIT DROP AS WITH ${classes} SELECT user_id, revenue, purchases, value_class FROM classes`.execute(trx);
    await sql`ALTER TABLE value_classes ADD PRIMARY KEY (user_id)`.execute(trx);
    const assigned = await sql`
      UPDATE users SET value_class = c.value_class, next_tick_at = LEAST(users.next_tick_at, ${now}::timestamptz)
      FROM value_classes c
      WHERE users.id = c.user_id AND users.value_class IS DISTINCT FROM c.value_class`.execute(trx);
    const cleared = await sql`
      UPDATE users SET value_class = NULL, next_tick_at = LEAST(users.next_tick_at, ${now}::timestamptz)
      WHERE users.project_id = ${projectId} AND users.value_class IS NOT NULL AND NOT EXISTS (SELECT 1 FROM value_classes c WHERE c.user_id = users.id)`.execute(trx);
    const result = await sql<CellRow>`SELECT value_class, count(*) AS customers, sum(revenue) AS revenue, sum(purchases) AS purchases FROM value_classes GROUP BY value_class`.execute(trx);
    return { rows: result.rows, updatedUsers: Number(assigned.numAffectedRows ?? 0) + Number(cleared.numAffectedRows ?? 0) };
  });

  const cells = emptyMatrix();
  for (const row of rows) {
    if (row.value_class === null || !(VALUE_CLASSES as readonly string[]).includes(row.value_class)) continue;
    cells[row.value_class] = { customers: Number(row.customers), revenue: Number(row.revenue ?? 0), purchases: Number(row.purchases ?? 0) };
  }
  const sum = (key: "customers" | "revenue" | "purchases") => VALUE_CLASSES.reduce((s, c) => s + cells[c][key], 0);
  const summary = {
    params: { purchaseEvent: params.purchaseEvent, revenueProperty: params.revenueProperty, from: params.from, to: params.to, cutoffs: params.cutoffs },
    customers: sum("customers"),
    // Summed per cell in JS; exact for revenue in whole cents below 2^53.
    revenue: Math.round(sum("revenue") * 1e6) / 1e6,
    purchases: sum("purchases"),
    rows: ["A", "B", "C"] as ["A", "B", "C"],
    columns: ["X", "Y", "Z"] as ["X", "Y", "Z"],
    cells,
    stored: params.store,
    updatedUsers,
  };
  const record = await db
    .insertInto("value_analyses")
    .values({ project_id: projectId, params: JSON.stringify({ ...summary.params, store: params.store }), result: JSON.stringify(summary), stored: params.store, created_at: now })
    .returning(["id", "created_at"])
    .executeTakeFirstOrThrow();
  return { id: record.id, ...summary, createdAt: record.created_at };
}

/** Past analyses, newest first (their matrices as they were computed). */
export async function listValueAnalyses(db: Db, projectId: string, limit: number) {
  const rows = await db.selectFrom("value_analyses").select(["id", "result", "stored", "created_at"]).where("project_id", "=", projectId).orderBy("created_at", "desc").limit(limit).execute();
  return rows.map((r) => ({ id: r.id, ...(r.result as Record<string, unknown>), stored: r.stored, createdAt: r.created_at }));
}
