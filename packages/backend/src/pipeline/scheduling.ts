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

/** Enqueues work for the users whose events just committed. */
export async function enqueueUsers(queues: Queues, projectId: string, userIds: readonly number[]): Promise<void> {
  const chunks = chunkUsers(userIds);
  // One job (a visitor's single event, usually) goes without addBulk's MULTI wrapping.
  if (chunks.length === 1) await queues.get("pipeline").add("pipeline", { projectId, userIds: chunks[0]! });
  else await queues.get("pipeline").addBulk(chunks.map((ids) => ({ name: "pipeline", data: { projectId, userIds: ids } })));
}
