import { prepared, together, type RowOf, type Statement, type DB, type Db, type ProjectRow, type UserRow } from "@nurture/db";
import type { Queues } from "@nurture/jobs";
import { sql, type Transaction } from "kysely";
import type { Logger } from "pino";
import { tryLockSegmentsShared } from "../segments/segments-lock";
import { readRun, runQuery } from "./card-loader";
import type { CardColumns, EmittedEvent, PipelineContext } from "./pipeline.types";
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
 * The bookkeeping is plain statements, each simple enough for PostgreSQL to keep one generic plan
 * and only bind it; as one statement of CTEs it was planned afresh on every run, a third of a
 * millisecond. One event (the usual run) is matched by equality: a plan for `= ANY(array)` guesses
 * ten elements, so for one it would be planned afresh as well.
 */
const markProcessed = (ids: readonly number[], now: Date) =>
  prepared(
    ids.length === 1
      ? sql`UPDATE events SET processed_at = ${now}::timestamptz WHERE id = ${ids[0]}::bigint`
      : sql`UPDATE events SET processed_at = ${now}::timestamptz WHERE id = ANY(${ids}::bigint[])`,
    ids.length,
  );

/** The run's system events ($segment_entered, …), stored processed: this run already acted on them. */
const storeEmitted = (projectId: string, userId: number, emitted: readonly EmittedEvent[], now: Date) =>
  prepared(
    sql`
      INSERT INTO events (project_id, user_id, message_id, type, name, properties, occurred_at, processed_at)
      SELECT ${projectId}::uuid, ${userId}::bigint, '$sys:' || gen_random_uuid(), 'system', name, properties, occurred_at, ${now}::timestamptz
      FROM unnest(${emitted.map((e) => e.name)}::text[], ${emitted.map((e) => JSON.stringify(e.properties))}::jsonb[], ${emitted.map((e) => e.occurredAt.toISOString())}::timestamptz[])
        WITH ORDINALITY AS e(name, properties, occurred_at, n)
      ORDER BY n
    `,
    emitted.length,
  );

type LockedUser = { user: UserRow; project: ProjectRow; segmentsLocked: boolean };

/**
 * Locks the user's row and reads its project in the same statement (the project's row changes
 * rarely, so the statement's snapshot, taken before any wait for the lock, is recent enough), and
 * tries the project's segments lock, shared, on the way.
 */
function lockUserWithProject(trx: Transaction<DB>, projectId: string, userId: number) {
  return prepared(
    trx
      .selectFrom("users")
      .innerJoin("projects", "projects.id", "users.project_id")
      .selectAll("users")
      .select([
        "projects.name as project_name",
        "projects.write_key as project_write_key",
        "projects.secret_key_hash as project_secret_key_hash",
        "projects.settings as project_settings",
        "projects.config_version as project_config_version",
        "projects.created_at as project_created_at",
        tryLockSegmentsShared(projectId).as("segments_locked"),
      ])
      .where("users.id", "=", userId)
      .where("users.project_id", "=", projectId)
      .forUpdate("users"),
    1,
  );
}

function lockedUser(projectId: string, row: RowOf<ReturnType<typeof lockUserWithProject>> | undefined): LockedUser | undefined {
  if (!row) return undefined;
  const { project_name, project_write_key, project_secret_key_hash, project_settings, project_config_version, project_created_at, segments_locked, ...user } = row;
  const project: ProjectRow = {
    id: projectId,
    name: project_name,
    write_key: project_write_key,
    secret_key_hash: project_secret_key_hash,
    settings: project_settings,
    config_version: project_config_version,
    created_at: project_created_at,
  };
  return { user, project, segmentsLocked: segments_locked };
}

/**
 * Runs the rule engine for one user in one transaction: the user row is locked, so two workers
 * handling the same user take turns and a redelivered job finds its events already processed.
 */
export async function processUser(deps: PipelineDeps, projectId: string, userId: number): Promise<{ processed: number }> {
  const afterCommit: (() => Promise<void>)[] = [];
  const withCommit: { statement: Statement; answer(rows: unknown[]): void }[] = [];
  let nextTick: Date | null = null;
  let more = false;
  const cardChanges: CardColumns = {};
  const log = deps.log.child({ projectId, userId });

  const processed = await deps.db.transaction().execute(async (trx) => {
    const now = deps.now();
    // The run's read goes out right behind the lock and runs once the lock is held, on a snapshot
    // of its own: one round trip for both.
    const [lockRows, [runRow]] = await together(trx, [lockUserWithProject(trx, projectId, userId), runQuery(projectId, userId, now, BATCH + 1)]);
    const locked = lockedUser(projectId, lockRows[0]);
    // Merged into another card meanwhile: that card's own job covers the events.
    if (!locked) return 0;
    const { user, project, segmentsLocked } = locked;
    const { card, events, expiries, priorSeries } = readRun(user, runRow!, now);
    more = events.length > BATCH;
    const batch = events.slice(0, BATCH);
    const tickDue = user.next_tick_at !== null && user.next_tick_at <= now;
    if (batch.length === 0 && !tickDue) return 0;

    const emitted: EmittedEvent[] = [];
    const ctx: PipelineContext = {
      trx,
      project,
      user,
      card,
      events: batch,
      emitted,
      segmentsLocked,
      expiries,
      priorSeries,
      now,
      emit: (name, properties) => emitted.push({ name, properties, occurredAt: now }),
      scheduleAt: (at) => {
        if (nextTick === null || at < nextTick) nextTick = at;
      },
      afterCommit: (fn) => afterCommit.push(fn),
      writeWithCommit: <R>(statement: Statement<R>) => new Promise<R[]>((answer) => withCommit.push({ statement, answer: answer as (rows: unknown[]) => void })),
      updateCard: (changes) => Object.assign(cardChanges, changes),
      queues: deps.queues,
      log,
    };
    for (const processor of processors) await processor.run(ctx);

    // The run's bookkeeping: its system events on the timeline, its events marked processed, the
    // user's next tick and the card columns the processors changed. It goes out with the
    // processors' writes that nothing waits for and with the COMMIT: one round trip.
    const changed = Object.entries(cardChanges).map(([column, value]) => sql`, ${sql.ref(column)} = ${value}`);
    const bookkeeping: Statement[] = [
      ...(emitted.length > 0 ? [storeEmitted(projectId, userId, emitted, now)] : []),
      ...(batch.length > 0 ? [markProcessed(batch.map((e) => e.id), now)] : []),
      prepared(sql`UPDATE users SET next_tick_at = ${nextTick}::timestamptz ${sql.join(changed, sql``)} WHERE id = ${userId}`, 1),
    ];
    const answers = await together(trx, [...withCommit.map((w) => w.statement), ...bookkeeping], { last: true });
    withCommit.forEach((w, i) => w.answer(answers[i]!));
    return batch.length;
  });

  // What the processors asked for first (deliveries, inbox signals: someone may be waiting), then
  // the run's own follow-ups. The sweeper re-enqueues anything these miss (Redis down), so a
  // failure here loses nothing.
  for (const fn of afterCommit) {
    await fn().catch((err) => log.error({ err }, "after-commit step failed"));
  }
  const tick: Date | null = nextTick;
  if (tick) await scheduleTick(deps.queues, projectId, userId, tick, deps.now()).catch((err) => log.warn({ err }, "tick not scheduled; the sweeper will pick it up"));
  if (more) await deps.queues.add("pipeline", { projectId, userIds: [userId] }).catch((err) => log.warn({ err }, "follow-up not enqueued; the sweeper will pick it up"));
  return { processed };
}
