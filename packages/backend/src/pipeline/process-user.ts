import type { Db } from "@nurture/db";
import type { Queues } from "@nurture/jobs";
import { sql } from "kysely";
import type { Logger } from "pino";
import { getProject } from "../projects/projects.repository";
import { loadCard } from "./card-loader";
import type { EmittedEvent, PipelineContext } from "./pipeline.types";
import { processors } from "./processors";
import { scheduleTick } from "./scheduling";

export interface PipelineDeps {
  db: Db;
  queues: Queues;
  /** Injectable clock: tests move time without waiting. */
  now: () => Date;
  log: Logger;
}

/** Events taken per run; a backlog larger than this continues in a follow-up job. */
const BATCH = 500;

/**
 * Runs the rule engine for one user in one transaction: the user row is locked, so two workers
 * handling the same user take turns and a redelivered job finds its events already processed.
 */
export async function processUser(deps: PipelineDeps, projectId: string, userId: number): Promise<{ processed: number }> {
  const afterCommit: (() => Promise<void>)[] = [];
  let nextTick: Date | null = null;
  let more = false;
  const log = deps.log.child({ projectId, userId });

  const processed = await deps.db.transaction().execute(async (trx) => {
    const user = await trx.selectFrom("users").selectAll().where("id", "=", userId).where("project_id", "=", projectId).forUpdate().executeTakeFirst();
    // Merged into another card meanwhile: that card's own job covers the events.
    if (!user) return 0;
    const now = deps.now();
    const events = await trx
      .selectFrom("events")
      .selectAll()
      .where("user_id", "=", userId)
      .where("processed_at", "is", null)
      .orderBy("occurred_at")
      .orderBy("id")
      .limit(BATCH + 1)
      .execute();
    more = events.length > BATCH;
    const batch = events.slice(0, BATCH);
    const tickDue = user.next_tick_at !== null && user.next_tick_at <= now;
    if (batch.length === 0 && !tickDue) return 0;

    const project = await getProject(trx, projectId);
    if (!project) return 0;
    const emitted: EmittedEvent[] = [];
    const ctx: PipelineContext = {
      trx,
      project,
      user,
      card: await loadCard(trx, user),
      events: batch,
      emitted,
      now,
      emit: (name, properties) => emitted.push({ name, properties, occurredAt: now }),
      scheduleAt: (at) => {
        if (nextTick === null || at < nextTick) nextTick = at;
      },
      afterCommit: (fn) => afterCommit.push(fn),
      queues: deps.queues,
      log,
    };
    for (const processor of processors) await processor.run(ctx);

    // One statement for the run's bookkeeping: its system events on the timeline, its events
    // marked processed, the user's next tick.
    await sql`
      WITH emitted AS (
        INSERT INTO events (project_id, user_id, message_id, type, name, properties, occurred_at, processed_at)
        SELECT ${projectId}::uuid, ${userId}::bigint, '$sys:' || gen_random_uuid(), 'system', name, properties, occurred_at, ${now}::timestamptz
        FROM unnest(${emitted.map((e) => e.name)}::text[], ${emitted.map((e) => JSON.stringify(e.properties))}::jsonb[], ${emitted.map((e) => e.occurredAt.toISOString())}::timestamptz[])
          WITH ORDINALITY AS e(name, properties, occurred_at, n)
        ORDER BY n
      ),
      processed AS (
        UPDATE events SET processed_at = ${now}::timestamptz WHERE id = ANY(${batch.map((e) => e.id)}::bigint[])
      )
      UPDATE users SET next_tick_at = ${nextTick}::timestamptz WHERE id = ${userId}
    `.execute(trx);
    return batch.length;
  });

  // The sweeper re-enqueues anything these miss (Redis down), so a failure here loses nothing.
  const tick: Date | null = nextTick;
  if (tick) await scheduleTick(deps.queues, projectId, userId, tick, deps.now()).catch((err) => log.warn({ err }, "tick not scheduled; the sweeper will pick it up"));
  if (more) await deps.queues.add("pipeline", { projectId, userIds: [userId] }).catch((err) => log.warn({ err }, "follow-up not enqueued; the sweeper will pick it up"));
  for (const fn of afterCommit) {
    await fn().catch((err) => log.error({ err }, "after-commit step failed"));
  }
  return { processed };
}
