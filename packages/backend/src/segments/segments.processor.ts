/**
 * The pipeline step for segments and lifecycle: counts the new events into the counters, re-stages
 * the user, re-evaluates every segment of the project against the card (referenced segments first),
 * stores membership changes with their timeline events, and asks for a tick at the earliest instant
 * any answer can change with time alone.
 */
import { addToCounter, computeLifecycleStage, counterCounts, emptyCounter, evaluateConditionTimed, utcDayKey, type Condition } from "@nurture/core";
import type { DbOrTrx } from "@nurture/db";
import { sql } from "kysely";
import type { PipelineContext, Processor } from "../pipeline/pipeline.types";
import { forProjectConfig } from "../projects/project-config-cache";
import { loadCounterDefinitions, loadUserCounters, rebuildCounter, saveUserCounters, type KeptCounter } from "./counters.repository";
import { lifecycleSettingsOf } from "./lifecycle.service";
import { dependencyOrder } from "./segment-dependencies";

export class SegmentsRebuildingError extends Error {
  constructor(projectId: string) {
    super(`segments of project ${projectId} are being rebuilt; the run is retried`);
    this.name = "SegmentsRebuildingError";
  }
}

interface CachedSegment {
  id: string;
  version: number;
  condition: Condition;
}

// Conditions by id and version: the same object each run, so the core's compiled form is reused.
const conditionCache = new Map<string, CachedSegment>();

async function loadSegments(db: DbOrTrx, projectId: string): Promise<CachedSegment[]> {
  const heads = await db.selectFrom("segments").select(["id", "version"]).where("project_id", "=", projectId).orderBy("created_at").orderBy("id").execute();
  const missing = heads.filter((h) => conditionCache.get(h.id)?.version !== h.version).map((h) => h.id);
  if (missing.length > 0) {
    const rows = await db.selectFrom("segments").select(["id", "version", "condition"]).where("id", "in", missing).execute();
    if (conditionCache.size > 50_000) conditionCache.clear();
    for (const r of rows) conditionCache.set(r.id, { id: r.id, version: r.version, condition: r.condition as Condition });
  }
  // A segment deleted between the two reads is simply absent.
  return heads.map((h) => conditionCache.get(h.id)).filter((s): s is CachedSegment => s !== undefined);
}

async function updateCounters(ctx: PipelineContext, kept: KeptCounter[]): Promise<void> {
  const { trx, card, user, now } = ctx;
  if (kept.length === 0) return;
  if (ctx.events.some((e) => e.name === "$users_merged")) {
    // The merged card's events moved here; its counters went with its row. Rebuild from history.
    for (const counter of kept) await rebuildCounter(trx, user.project_id, counter, now, user.id);
    card.counters = await loadUserCounters(trx, user.id);
  }
  const touched = new Map<string, Set<string>>();
  for (const event of ctx.events) {
    if (event.type === "system") continue;
    const countable = { name: event.name, properties: event.properties, occurredAt: event.occurred_at };
    for (const counter of kept) {
      if (!counterCounts(counter, countable)) continue;
      addToCounter((card.counters[counter.key] ??= emptyCounter()), event.occurred_at);
      const days = touched.get(counter.key) ?? new Set<string>();
      days.add(utcDayKey(event.occurred_at));
      touched.set(counter.key, days);
    }
  }
  await saveUserCounters(trx, user.project_id, user.id, card.counters, touched, kept, now);
}

async function updateLifecycle(ctx: PipelineContext): Promise<void> {
  const { card, now } = ctx;
  const { stage, nextChangeAt } = computeLifecycleStage(card, lifecycleSettingsOf(ctx.project.settings), now);
  if (nextChangeAt) ctx.scheduleAt(nextChangeAt);
  if (stage === card.lifecycleStage) return;
  ctx.updateCard({ lifecycle_stage: stage });
  ctx.emit("$lifecycle_changed", { from: card.lifecycleStage, to: stage });
  card.lifecycleStage = stage;
}

async function updateSegments(ctx: PipelineContext): Promise<void> {
  const { trx, card, now, user } = ctx;
  const segments = await forProjectConfig("segments", ctx.project, async () => dependencyOrder(await loadSegments(trx, user.project_id)));
  if (!segments) throw new Error(`segments of project ${user.project_id} refer to each other in a cycle`);
  const members = new Set(card.segmentIds);
  const entered: string[] = [];
  const exited: string[] = [];
  for (const segment of segments) {
    const { matches, nextChangeAt } = evaluateConditionTimed(segment.condition, card, now);
    if (nextChangeAt) ctx.scheduleAt(nextChangeAt);
    if (matches === members.has(segment.id)) continue;
    if (matches) {
      members.add(segment.id);
      entered.push(segment.id);
    } else {
      members.delete(segment.id);
      exited.push(segment.id);
    }
    // Segments evaluated after this one may ask about this membership.
    card.segmentIds = [...members];
  }
  // Memberships of segments deleted meanwhile disappear with their rows; keep the card honest.
  const known = new Set(segments.map((s) => s.id));
  card.segmentIds = [...members].filter((id) => known.has(id));
  if (entered.length > 0) {
    await trx
      .insertInto("segment_members")
      .values(entered.map((id) => ({ segment_id: id, user_id: user.id, project_id: user.project_id, entered_at: now })))
      .onConflict((oc) => oc.doNothing())
      .execute();
  }
  if (exited.length > 0) {
    // An entry a rebuild made whose timeline event is still pending gets it now, before the exit.
    await sql`
      WITH gone AS (
        DELETE FROM segment_members WHERE user_id = ${user.id} AND segment_id = ANY(${exited}::uuid[])
        RETURNING segment_id, user_id, entered_at, entry_recorded
      )
      INSERT INTO events (project_id, user_id, message_id, type, name, properties, occurred_at, processed_at)
      SELECT ${user.project_id}::uuid, user_id, '$segment:' || segment_id || ':' || user_id || ':in:' || (extract(epoch FROM entered_at) * 1000)::bigint,
             'system', '$segment_entered', jsonb_build_object('segmentId', segment_id), entered_at, ${now.toISOString()}::timestamptz
      FROM gone WHERE NOT entry_recorded
      ON CONFLICT DO NOTHING`.execute(trx);
  }
  for (const id of exited) ctx.emit("$segment_exited", { segmentId: id });
  for (const id of entered) ctx.emit("$segment_entered", { segmentId: id });
}

export const segmentsProcessor: Processor = async (ctx) => {
  if (!ctx.segmentsLocked) throw new SegmentsRebuildingError(ctx.project.id);
  await updateCounters(ctx, await forProjectConfig("event-counters", ctx.project, () => loadCounterDefinitions(ctx.trx, ctx.project.id)));
  await updateLifecycle(ctx);
  await updateSegments(ctx);
};
