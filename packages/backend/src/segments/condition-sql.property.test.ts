/**
 * One language, two evaluators, one answer: random users (properties, events, scores, memberships)
 * are stored in PostgreSQL, random conditions are compiled to SQL, and the members SQL finds must be
 * exactly the users the in-memory evaluator accepts — with counters kept, and computed from raw events.
 */
import { evaluateCondition, nextChangeAt, requiredCounters, type Condition } from "@nurture/core";
import { conditionArb, scenarioArb, scenarioCard, SCENARIO_NOW, type UserScenario } from "../../../core/src/conditions/testing/condition-arbitraries";
import type { Db } from "@nurture/db";
import { createTestDatabase, type TestDatabase } from "@nurture/db/testing";
import fc from "fast-check";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProject } from "../projects/projects.repository";
import { loadCard } from "../pipeline/card-loader";
import { conditionSql } from "./condition-sql";
import { syncCounterOwner } from "./counters.repository";
import { nextChangeSql } from "./next-change-sql";

let tdb: TestDatabase;
let db: Db;
let projectId: string;
let segmentIds: string[];
const population: { id: number; scenario: UserScenario }[] = [];

async function store(scenarios: UserScenario[]): Promise<void> {
  for (const scenario of scenarios) {
    const user = await db
      .insertInto("users")
      .values({
        project_id: projectId,
        user_id: scenario.userId === null ? null : `${scenario.userId}-${population.length}`,
        properties: JSON.stringify(scenario.properties),
        first_seen_at: scenario.firstSeenAt,
        last_seen_at: scenario.lastSeenAt,
        score: scenario.score,
        grade: scenario.grade,
        value_class: scenario.valueClass,
        lifecycle_stage: scenario.lifecycleStage,
        email_unsubscribed_at: scenario.emailUnsubscribed ? SCENARIO_NOW : null,
      })
      .returning("id")
      .executeTakeFirstOrThrow();
    population.push({ id: user.id, scenario });
    if (scenario.events.length > 0) {
      await db
        .insertInto("events")
        .values(
          scenario.events.map((e, i) => ({
            project_id: projectId,
            user_id: user.id,
            message_id: `m-${user.id}-${i}`,
            type: "track",
            name: e.name,
            properties: JSON.stringify(e.properties),
            occurred_at: e.occurredAt,
            processed_at: SCENARIO_NOW,
          })),
        )
        .execute();
      // Ingestion keeps event_stats; build them the same way from the stored events.
      await sql`INSERT INTO event_stats (project_id, user_id, event_name, count, first_at, last_at)
        SELECT project_id, user_id, name, count(*), min(occurred_at), max(occurred_at) FROM events WHERE user_id = ${user.id} GROUP BY 1, 2, 3`.execute(db);
    }
    for (const i of scenario.segmentIndexes) {
      await db.insertInto("segment_members").values({ segment_id: segmentIds[i]!, user_id: user.id, project_id: projectId, entered_at: SCENARIO_NOW }).execute();
    }
  }
}

beforeAll(async () => {
  tdb = await createTestDatabase();
  db = tdb.db;
  projectId = (await createProject(db, "agreement")).id;
  segmentIds = [];
  for (const name of ["a", "b", "c"]) {
    const row = await db.insertInto("segments").values({ project_id: projectId, name, condition: JSON.stringify({ and: [] }) }).returning("id").executeTakeFirstOrThrow();
    segmentIds.push(row.id);
  }
  await store(fc.sample(scenarioArb, { numRuns: 70, seed: 20240520 }));
});
afterAll(async () => tdb.destroy());

let run = 0;
async function sqlMembers(condition: Condition, raw: boolean): Promise<number[]> {
  const keys = requiredCounters(condition).map((c) => c.key);
  const where = conditionSql(condition, { projectId, now: SCENARIO_NOW, rawCounters: raw ? new Set(keys) : undefined });
  const rows = await sql<{ id: number }>`SELECT u.id FROM users u WHERE u.project_id = ${projectId} AND ${where} ORDER BY u.id`.execute(db);
  return rows.rows.map((r) => Number(r.id));
}

const memoryMembers = (condition: Condition) =>
  population.filter(({ id, scenario }) => evaluateCondition(condition, scenarioCard(scenario, requiredCounters(condition), segmentIds, id), SCENARIO_NOW)).map((p) => p.id);

describe("the SQL evaluator and the in-memory evaluator", () => {
  it("agree on every generated condition", async () => {
    await fc.assert(
      fc.asyncProperty(conditionArb(segmentIds), async (condition) => {
        run += 1;
        await syncCounterOwner(db, projectId, `test:${run}`, requiredCounters(condition), SCENARIO_NOW);
        const expected = memoryMembers(condition);
        expect(await sqlMembers(condition, false), JSON.stringify(condition)).toEqual(expected);
        expect(await sqlMembers(condition, true), `raw: ${JSON.stringify(condition)}`).toEqual(expected);
      }),
      { numRuns: 150 },
    );
  });

  it("give the same answers on the cards the pipeline loads", async () => {
    const conditions = fc.sample(conditionArb(segmentIds), { numRuns: 40, seed: 7 });
    for (const condition of conditions) await syncCounterOwner(db, projectId, `loaded:${JSON.stringify(condition).length}:${Math.random()}`, requiredCounters(condition), SCENARIO_NOW);
    const users = await db.selectFrom("users").selectAll().where("project_id", "=", projectId).orderBy("id").execute();
    const cards = await Promise.all(users.map((u) => loadCard(db, u)));
    for (const condition of conditions) {
      const fromCards = cards.filter((card) => evaluateCondition(condition, card, SCENARIO_NOW)).map((c) => c.id);
      expect(fromCards, JSON.stringify(condition)).toEqual(await sqlMembers(condition, false));
    }
  });

  it("wake every user no later than the in-memory evaluator's next change", async () => {
    const conditions = fc.sample(conditionArb(segmentIds), { numRuns: 60, seed: 11 });
    for (const condition of conditions) {
      await syncCounterOwner(db, projectId, `next:${run++}`, requiredCounters(condition), SCENARIO_NOW);
      const next = nextChangeSql([condition], SCENARIO_NOW);
      const rows = next ? (await sql<{ id: number; at: Date | null }>`SELECT u.id, ${next} AS at FROM users u WHERE u.project_id = ${projectId} ORDER BY u.id`.execute(db)).rows : [];
      const sqlNext = new Map(rows.map((r) => [Number(r.id), r.at]));
      for (const { id, scenario } of population) {
        const memory = nextChangeAt(condition, scenarioCard(scenario, requiredCounters(condition), segmentIds, id), SCENARIO_NOW);
        if (memory === null) continue;
        const woken = sqlNext.get(id);
        expect(woken, JSON.stringify(condition)).toBeInstanceOf(Date);
        expect(woken!.getTime(), JSON.stringify(condition)).toBeLessThanOrEqual(memory.getTime());
        expect(woken!.getTime()).toBeGreaterThan(SCENARIO_NOW.getTime());
      }
    }
  });

  it("read dates in properties exactly like the core does", async () => {
    const samples = fc.sample(fc.oneof(fc.string({ maxLength: 30 }), scenarioArb.map((s) => String(s.properties.signup ?? ""))), { numRuns: 300, seed: 3 });
    const extra = ["2024-02-29T23:59:59.9999Z", "2024-05-01T10:00:00-23:59", "9999-12-31T23:59:59+00:00", "1000-01-01", "2023-02-29", "2024-05-01T10:00:00.12Z"];
    const texts = [...samples, ...extra].filter((t) => !t.includes("\u0000"));
    const { parseIsoDate } = await import("@nurture/core");
    const rows = await sql<{ t: string; at: Date | null }>`SELECT t, nurture_instant(to_jsonb(t)) AS at FROM unnest(${texts}::text[]) AS t`.execute(db);
    for (const row of rows.rows) expect(row.at?.getTime() ?? null, row.t).toBe(parseIsoDate(row.t));
  });
});
