import {
  createLinkSigner,
  deliverMessage,
  deliveryJobId,
  emailLinks,
  enqueueDelivery,
  publicBaseUrl,
  recordHandover,
  sentClaim,
  signalInbox,
  signingSecretOf,
  webhookSecret,
  type Claim,
  type DeliveryDeps,
  type FailurePlan,
  type NextDelivery,
  type Transport,
} from "@nurture/backend";
import type { DeliveryQueue } from "@nurture/jobs";
import { UnrecoverableError, type Job } from "bullmq";
import type { Logger } from "pino";
import { buildEmail, classifySmtpError, type SendFailure } from "../channels/email.channel";
import { mailerFor } from "../channels/mail-transport";
import { postWebhook, WebhookError } from "../channels/webhook.channel";
import type { JobHandler } from "../job-handlers";
import type { WorkerDeps } from "../worker-deps";

/** Popups and chat hand nothing over: they run on the rule engine's pool; email and webhooks on their own. */
function deliveryDeps(deps: WorkerDeps, channel: DeliveryQueue): DeliveryDeps {
  const base = publicBaseUrl(deps.config);
  return {
    db: channel === "email" || channel === "webhook" ? deps.deliveryPools.deliveries : deps.db,
    now: deps.now,
    emailLinks: (messageId) => emailLinks(createLinkSigner(signingSecretOf(deps.config)), base, messageId),
  };
}

async function enqueueNext(deps: WorkerDeps, next: NextDelivery | null, log: Logger): Promise<void> {
  if (!next) return;
  // Lost with Redis down? The message is queued in PostgreSQL and the delivery sweeper re-enqueues it.
  await enqueueDelivery(deps.queues, next, deps.now()).catch((err) => log.warn({ err, messageId: next.messageId }, "next step not enqueued; the sweeper will"));
}

/** When BullMQ will run the job again after this failure (exponential backoff). */
function retryAt(job: Job, now: Date): Date {
  const backoff = job.opts.backoff;
  const base = typeof backoff === "number" ? backoff : (backoff?.delay ?? 1_000);
  const exponential = typeof backoff === "object" && backoff?.type === "exponential";
  return new Date(now.getTime() + (exponential ? base * 2 ** job.attemptsMade : base));
}

async function transmit(deps: WorkerDeps, claim: Claim): Promise<string> {
  const content = claim.content;
  switch (content.channel) {
    case "email": {
      const sent = await mailerFor(deps.config).send(buildEmail(claim, publicBaseUrl(deps.config)), `${claim.message.project_id}-${claim.message.id}`, {
        beforeHandover: () => recordHandover(deps.deliveryPools.handovers, claim.message.id),
      });
      return sent.response.slice(0, 200);
    }
    case "webhook": {
      const secret = webhookSecret(signingSecretOf(deps.config), claim.message.project_id);
      const result = await postWebhook(content.url, content.body, secret, deps.now(), { messageId: claim.message.id });
      return `HTTP ${result.status}`;
    }
    case "popup":
    case "chat":
      // The inbox is the ledger row itself: recording it sent puts it in the widget's inbox.
      return "";
  }
}

function failureOf(err: unknown, channel: string): SendFailure {
  if (err instanceof WebhookError) return err.failure;
  if (channel === "email") return classifySmtpError(err);
  return { permanent: false, hardBounce: false, reason: (err as Error).message ?? String(err) };
}

/**
 * Temporary failures retry with the job's backoff until its attempts run out. Permanent ones fail
 * at once, and so do ambiguous ones — the server may have accepted the message before the
 * connection dropped, and a second copy is worse than a message recorded as possibly lost.
 */
function failurePlan(job: Job, now: Date, err: unknown, claim: Claim): FailurePlan {
  const failure = failureOf(err, claim.message.channel);
  const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
  if (failure.ambiguous === true) return { fail: `outcome unknown, not resent: ${failure.reason}` };
  if (failure.permanent) return { fail: failure.reason, ...(failure.hardBounce && claim.recipient ? { suppressAddress: claim.recipient.address } : {}) };
  if (lastAttempt) return { fail: `gave up after ${job.attemptsMade + 1} attempts: ${failure.reason}` };
  return { retryAt: retryAt(job, now), reason: failure.reason };
}

/**
 * Delivers one ledger message (see deliverMessage: the checks, the hand-over and its record are
 * one transaction, so duplicate jobs, two workers or a job redelivered after a crash never send it
 * twice). Temporary failures are thrown for BullMQ to retry with backoff; permanent ones are
 * recorded and the job fails without retrying.
 */
export const deliveryJob = (async (deps, payload, job) => {
  const log = deps.log.child({ jobId: job.id, messageId: payload.messageId, projectId: payload.projectId });
  const transport: Transport = {
    transmit: (claim) => transmit(deps, claim),
    plan: (err, claim) => failurePlan(job, deps.now(), err, claim),
  };
  const result = await deliverMessage(deliveryDeps(deps, job.queueName as DeliveryQueue), payload.projectId, payload.messageId, transport);
  switch (result.kind) {
    case "done":
      return { outcome: "done", reason: result.reason };
    case "wait": {
      const jobId = deliveryJobId(payload.messageId, result.until);
      await enqueueDelivery(deps.queues, { ...payload, channel: result.channel, scheduledFor: result.until }, deps.now(), jobId === job.id ? { jobId: `${jobId}-again-${job.attemptsMade}` } : {});
      return { outcome: "waiting", until: result.until.toISOString(), reason: result.reason };
    }
    case "stopped":
      await enqueueNext(deps, result.next, log);
      return { outcome: result.status, reason: result.reason };
    case "sent":
      log.debug({ detail: result.detail }, "delivered");
      if (result.claim.message.channel === "popup" || result.claim.message.channel === "chat") {
        await signalInbox(deps.queues, log, payload.projectId, result.claim.user.id, sentClaim(result.claim, deps.now()));
      }
      await enqueueNext(deps, result.next, log);
      return { outcome: "sent" };
    case "retrying":
      throw result.error;
    case "failed":
      await enqueueNext(deps, result.next, log);
      log.warn({ reason: result.reason }, "delivery failed for good");
      throw new UnrecoverableError(result.reason);
  }
}) satisfies JobHandler<DeliveryQueue>;
