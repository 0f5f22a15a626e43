import { PIPELINE_JOB_USERS, type Queues } from "@nurture/jobs";

/**
 * A delayed pipeline job for the instant a time-relative rule can change. The id is deterministic
 * per (user, instant), so asking twice schedules once; an earlier instant gets a job of its own and
 * the later one finds nothing due and ends at once.
 */
export async function scheduleTick(queues: Queues, projectId: string, userId: number, at: Date, now: Date): Promise<void> {
  await queues.add("pipeline", { projectId, userIds: [userId] }, { jobId: `tick-${userId}-${at.getTime()}`, delay: Math.max(0, at.getTime() - now.getTime()) });
}

/** Splits users into pipeline-job-sized groups. */
export function chunkUsers(userIds: readonly number[]): number[][] {
  const chunks: number[][] = [];
  for (let i = 0; i < userIds.length; i += PIPELINE_JOB_USERS) chunks.push(userIds.slice(i, i + PIPELINE_JOB_USERS));
  return chunks;
}

/**
 * Enqueues work for the users whose events just committed. A worker in this process with room
 * takes a group at once instead: Redis's add and the worker's wake for it were a third of the
 * time from an event to its popup. Durability is unchanged, as the events are in PostgreSQL
 * unprocessed until a run commits, and the sweeper finds any a crash left behind.
 */
export async function enqueueUsers(queues: Queues, projectId: string, userIds: readonly number[]): Promise<void> {
  const chunks = chunkUsers(userIds).filter((ids) => !queues.runInProcess("pipeline", { projectId, userIds: ids }));
  if (chunks.length === 0) return;
  // One job (a visitor's single event, usually) goes without addBulk's MULTI wrapping.
  if (chunks.length === 1) await queues.get("pipeline").add("pipeline", { projectId, userIds: chunks[0]! });
  else await queues.get("pipeline").addBulk(chunks.map((ids) => ({ name: "pipeline", data: { projectId, userIds: ids } })));
}
