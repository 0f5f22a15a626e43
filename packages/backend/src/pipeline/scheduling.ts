import type { Queues } from "@nurture/jobs";

/**
 * A delayed pipeline job for the instant a time-relative rule can change. The id is deterministic
 * per (user, instant), so asking twice schedules once; an earlier instant gets a job of its own and
 * the later one finds nothing due and ends at once.
 */
export async function scheduleTick(queues: Queues, projectId: string, userId: number, at: Date, now: Date): Promise<void> {
  await queues.add("pipeline", { projectId, userId }, { jobId: `tick-${userId}-${at.getTime()}`, delay: Math.max(0, at.getTime() - now.getTime()) });
}

/** Enqueues work for one or more users right after their events committed. */
export async function enqueueUsers(queues: Queues, projectId: string, userIds: readonly number[]): Promise<void> {
  const queue = queues.get("pipeline");
  await queue.addBulk(userIds.map((userId) => ({ name: "pipeline", data: { projectId, userId } })));
}
