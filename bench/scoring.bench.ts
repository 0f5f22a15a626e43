import { analyzeCustomerValue, createProject } from "@nurture/backend";
import { DEFAULT_ABC_XYZ_CUTOFFS } from "@nurture/core";
import { createTestDatabase } from "@nurture/db/testing";
import { sql } from "kysely";
import { alternate, line, type BenchLine } from "./bench-kit";

const PURCHASES = 1_000_000;
const CUSTOMERS = 100_000;
const NOISE = 200_000;
const FROM = new Date("2026-01-01T00:00:00Z");
const TO = new Date("2027-01-01T00:00:00Z");

/**
 * abc-xyz: POST /v1/analysis/abc-xyz's work (per-customer revenue and purchase counts, two ranked
 * cumulative shares, the 3×3 matrix) over 1M purchase events of 100k customers (skewed: a few buy a
 * lot), plus 200k other events, in a fresh schema. Baseline: the plain aggregate scan over the same
 * rows — `SELECT user_id, sum(revenue), count(*) … GROUP BY user_id` — that any such analysis needs
 * at least. abc-xyz-store also writes every customer's class to users.value_class (all changed).
 */
export async function benchAbcXyz(): Promise<BenchLine[]> {
  const testDb = await createTestDatabase();
  const { db } = testDb;
  try {
    const project = await createProject(db, "bench-abc");
    const p = project.id;
    await sql`SELECT setseed(0.42)`.execute(db);
    await sql`INSERT INTO users (project_id, user_id, first_seen_at, last_seen_at) SELECT ${p}, 'c' || g, ${FROM}, ${FROM} FROM generate_series(1, ${CUSTOMERS}) g`.execute(db);
    const { first } = (await sql<{ first: number }>`SELECT min(id) AS first FROM users WHERE project_id = ${p}`.execute(db)).rows[0]!;
    await sql`
      INSERT INTO events (project_id, user_id, message_id, type, name, properties, occurred_at, processed_at)
      SELECT ${p}, ${first}::bigint + floor(${CUSTOMERS} * power(random(), 3))::bigint, 'o' || g, 'track', 'order_completed',
             jsonb_build_object('revenue', round((5 + random() * 495)::numeric, 2), 'currency', 'EUR'),
             ${FROM}::timestamptz + random() * interval '364 days', now()
      FROM generate_series(1, ${PURCHASES}) g`.execute(db);
    await sql`
      INSERT INTO events (project_id, user_id, message_id, type, name, properties, occurred_at, processed_at)
      SELECT ${p}, ${first}::bigint + floor(${CUSTOMERS} * random())::bigint, 'n' || g, 'page', '$page', jsonb_build_object('path', '/p/' || g % 100),
             ${FROM}::timestamptz + random() * interval '364 days', now()
      FROM generate_series(1, ${NOISE}) g`.execute(db);
    await sql`VACUUM ANALYZE events`.execute(db);
    await sql`VACUUM ANALYZE users`.execute(db);

    const params = { purchaseEvent: "order_completed", revenueProperty: "revenue", from: FROM, to: TO, cutoffs: DEFAULT_ABC_XYZ_CUTOFFS };
    let customers = 0;
    const ours = (store: boolean) => async () => {
      if (store) await sql`UPDATE users SET value_class = NULL, next_tick_at = NULL WHERE project_id = ${p} AND value_class IS NOT NULL`.execute(db);
      const started = performance.now();
      const result = await analyzeCustomerValue(db, p, { ...params, store }, new Date());
      const ms = performance.now() - started;
      customers = result.customers;
      return ms;
    };
    let baselineCustomers = 0;
    const baseline = async () => {
      const started = performance.now();
      // Summed server-side so the baseline does not pay for shipping 100k rows either; the outer sums
      // use every column, so PostgreSQL cannot drop the per-customer aggregates.
      const r = await db.transaction().execute(async (trx) => {
        // The same memory for sorts and hashes as the analysis gets.
        await sql`SET LOCAL work_mem = '64MB'`.execute(trx);
        return sql<{ n: number }>`
        SELECT count(*) AS n, sum(revenue) AS revenue, sum(purchases) AS purchases FROM (
          SELECT user_id, sum((properties ->> 'revenue')::numeric) AS revenue, count(*) AS purchases
          FROM events WHERE project_id = ${p} AND name = 'order_completed' AND occurred_at >= ${FROM} AND occurred_at < ${TO}
          GROUP BY user_id
        ) per_customer`.execute(trx);
      });
      baselineCustomers = Number(r.rows[0]!.n);
      return performance.now() - started;
    };

    await ours(false)(); // warm-up: caches, plans
    await baseline();
    const read = await alternate(5, baseline, ours(false));
    if (customers !== baselineCustomers) throw new Error(`abc-xyz saw ${customers} customers, the baseline ${baselineCustomers}`);
    const store = await alternate(3, baseline, ours(true));
    const extra = { events: PURCHASES + NOISE, purchases: PURCHASES, customers };
    return [
      line("abc-xyz", read.ours, read.baseline, "ms", { ...extra, samples: read.samples }),
      line("abc-xyz-store", store.ours, store.baseline, "ms", { ...extra, samples: store.samples }),
    ];
  } finally {
    await testDb.destroy();
  }
}
