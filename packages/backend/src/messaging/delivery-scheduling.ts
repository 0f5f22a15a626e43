import type { Channel } from "@nurture/core";
import type { Db } from "@nurture/db";
import type { DeliveryQueue, Queues } from "@nurture/jobs";

type JobsOptions = NonNullable<Parameters<Queues["add"]>[2]>;

/**
 * Retries per channel: transient SMTP (4xx, connection) and webhook failures back off exponentially
 * (2 s, 4 s … about 34 minutes in all for email); permanent ones are failed by the handler at once.
 */
const RETRIES: Record<Channel, Pick<JobsOptions, "attempts" | "backoff">> = {
  email: { attempts: 11, backoff: { type: "exponential", delay: 2_000 } },
  webhook: { attempts: 8, backoff: { type: "exponential", delay: 2_000 } },
  popup: { attempts: 5, backoff: { type: "exponential", delay: 1_000 } },
  chat: { attempts: 5, backoff: { type: "exponential", delay: 1_000 } },
};

/** Each channel is delivered from the queue of the same name. */
export const deliveryQueueOf = (channel: Channel): DeliveryQueue => channel;

/** One job id per (message, due instant): enqueueing the same delivery twice adds one job. */
export const deliveryJobId = (messageId: number, scheduledFor: Date) => `deliver-${messageId}-${scheduledFor.getTime()}`;

export async function enqueueDelivery(
  queues: Queues,
  message: { projectId: string; messageId: number; channel: Channel; scheduledFor: Date },
  now: Date,
  options: { jobId?: string } = {},
): Promise<void> {
  await queues.add(
    deliveryQueueOf(message.channel),
    { projectId: message.projectId, messageId: message.messageId },
    {
      jobId: options.jobId ?? deliveryJobId(message.messageId, message.scheduledFor),
      delay: Math.max(0, message.scheduledFor.getTime() - now.getTime()),
      ...RETRIES[message.channel],
    },
  );
}

export interface DeliverySweepResult {
  enqueued: number;
  promoted: number;
}

/**
 * The safety net behind the direct enqueue: due messages still queued whose job is gone (lost with
 * a Redis outage) or waits on a clock that is behind get a runnable job. A message being sent right
 * now is queued too as far as others can see (the send is one open transaction), but its job is
 * active, so it is left alone; a worker that died mid-send rolled back, and BullMQ's stalled-job
 * check hands its job on. Job ids are deterministic, so sweeping twice adds nothing.
 */
export async function sweepDeliveries(deps: { db: Db; queues: Queues; now: () => Date }, options: { graceMs?: number; limit?: number } = {}): Promise<DeliverySweepResult> {
  const now = deps.now();
  const cutoff = new Date(now.getTime() - (options.graceMs ?? 5_000));
  const rows = await deps.db
    .selectFrom("messages")
    .select(["id", "project_id", "channel", "scheduled_for"])
    // 'sending' rows are left by versions that claimed with a lease; they are due like queued ones.
    .where("status", "in", ["queued", "sending"])
    .where("scheduled_for", "<=", cutoff)
    .orderBy("scheduled_for")
    .limit(options.limit ?? 2_000)
    .execute();
  let enqueued = 0;
  let promoted = 0;
  for (const row of rows) {
    const channel = row.channel as Channel;
    const jobId = deliveryJobId(row.id, row.scheduled_for);
    const job = await deps.queues.get(deliveryQueueOf(channel)).getJob(jobId);
    if (job && (await job.isDelayed())) {
      await job.promote();
      promoted += 1;
      continue;
    }
    // A finished job under the same id (its run ended in a wait) does not block a new one.
    const state = job ? await job.getState() : null;
    if (state === "waiting" || state === "active" || state === "prioritized" || state === "waiting-children") continue;
    if (job && (state === "completed" || state === "failed")) await job.remove().catch(() => undefined);
    await enqueueDelivery(deps.queues, { projectId: row.project_id, messageId: row.id, channel, scheduledFor: row.scheduled_for }, now);
    enqueued += 1;
  }
  return { enqueued, promoted };
}
