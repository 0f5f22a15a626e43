import { createProject, conditionSql } from "@nurture/backend";
import { createTestDatabase } from "@nurture/db/testing";
import { sql } from "kysely";
const NOW = new Date("2026-06-01T12:00:00Z");
const EVENTS = ["$session_start", "$page", "order_paid", "product_viewed", "checkout_started", "search"];
const testDb = await createTestDatabase();
const { db } = testDb;
const p = (await createProject(db, "x")).id;
const N = 300000;
await sql`
      INSERT INTO users (project_id, user_id, properties, first_seen_at, last_seen_at, score, email_unsubscribed_at)
      SELECT ${p}, 'u' || g,
             jsonb_build_object('plan', (ARRAY['free','free','pro','team'])[1 + floor(random() * 4)::int],
                                'email', CASE WHEN random() < 0.85 THEN 'u' || g || '@example.com' END, 'country', 'DE', 'age', 3),
             ${NOW}::timestamptz - random() * interval '400 days', ${NOW}::timestamptz - power(random(), 2) * interval '90 days',
             floor(random() * 100)::int, CASE WHEN random() < 0.05 THEN ${NOW}::timestamptz END
      FROM generate_series(1, ${N}) g`.execute(db);
await db.connection().execute(async (conn) => {
  await sql`SET session_replication_role = replica`.execute(conn);
  await sql`
        INSERT INTO event_stats (project_id, user_id, event_name, count, first_at, last_at)
        SELECT ${p}, u.id, e.name, 1 + floor(power(random(), 3) * 40)::int, u.first_seen_at, greatest(u.first_seen_at, u.last_seen_at - random() * interval '20 days')
        FROM users u CROSS JOIN unnest(${EVENTS}::text[]) WITH ORDINALITY AS e(name, i)
        WHERE u.project_id = ${p} AND random() + 0 * u.id < (0.9 - e.i * 0.1)`.execute(conn);
  await sql`SET session_replication_role = DEFAULT`.execute(conn);
});
await sql`VACUUM ANALYZE users`.execute(db);
await sql`VACUUM ANALYZE event_stats`.execute(db);
const cond = { and: [
    { property: "plan", op: "in", values: ["pro", "team"] },
    { event: "order_paid", count: { op: "gte", value: 2 } },
    { event: "$session_start", last: { op: "within_last_days", days: 30 } },
    { emailKnown: true },
    { emailUnsubscribed: false },
  ] } as const;
const where = conditionSql(cond as never, { projectId: p, now: NOW });
const show = (r: { rows: unknown[] }) => console.log(r.rows.map((x) => Object.values(x as object)[0]).join("\n"));

const seg = await db.insertInto("segments").values({ project_id: p, name: "x", condition: "{}" }).returning("id").executeTakeFirstOrThrow();
const at = NOW.toISOString();
for (let i = 0; i < 2; i++) {
  await sql`TRUNCATE segment_members`.execute(db);
  show(await sql`EXPLAIN (ANALYZE, COSTS OFF) WITH matching AS MATERIALIZED (
      SELECT u.id FROM users u WHERE u.project_id = ${p} AND ${where}
    ),
    exited AS (
      DELETE FROM segment_members m
      WHERE m.segment_id = ${seg.id} AND NOT EXISTS (SELECT 1 FROM matching x WHERE x.id = m.user_id)
      RETURNING m.user_id, m.entered_at, m.entry_recorded
    ),
    entered AS (
      INSERT INTO segment_members (segment_id, user_id, project_id, entered_at, entry_recorded)
      SELECT ${seg.id}::uuid, id, ${p}::uuid, ${at}::timestamptz, false FROM matching
      ON CONFLICT (segment_id, user_id) DO NOTHING
      RETURNING user_id
    )
    SELECT (SELECT count(*) FROM matching) AS members, (SELECT count(*) FROM entered) AS entered, (SELECT count(*) FROM exited) AS exited`.execute(db));
  await sql`TRUNCATE segment_members`.execute(db);
  show(await sql`EXPLAIN (ANALYZE, COSTS OFF) INSERT INTO segment_members (segment_id, user_id, project_id, entered_at)
        SELECT ${seg.id}::uuid, u.id, u.project_id, ${NOW}::timestamptz
        FROM users u
        JOIN event_stats paid ON paid.user_id = u.id AND paid.event_name = 'order_paid'
        JOIN event_stats seen ON seen.user_id = u.id AND seen.event_name = '$session_start'
        WHERE u.project_id = ${p}
          AND u.properties ->> 'plan' IN ('pro', 'team')
          AND paid.count >= 2
          AND seen.last_at BETWEEN ${new Date(NOW.getTime() - 30 * 86400000)}::timestamptz AND ${NOW}::timestamptz
          AND u.properties ->> 'email' LIKE '%@%'
          AND u.email_unsubscribed_at IS NULL ON CONFLICT DO NOTHING`.execute(db));
}
await testDb.destroy();
