import {
  completeDelivery,
  createLinkSigner,
  deliveryJobId,
  emailLinks,
  enqueueDelivery,
  failDelivery,
  prepareDelivery,
  publicBaseUrl,
  releaseClaim,
  signingSecretOf,
  webhookSecret,
  type Claim,
  type DeliveryDeps,
  type NextDelivery,
} from "@nurture/backend";
import type { RenderedContent } from "@nurture/core";
import { UnrecoverableError, type Job } from "bullmq";
import type { Logger } from "pino";
import { buildEmail, classifySmtpError, type SendFailure } from "../channels/email.channel";
import { mailerFor } from "../channels/mail-transport";
import { postWebhook, WebhookError } from "../channels/webhook.channel";
import type { JobHandler } from "../job-handlers";
import type { WorkerDeps } from "../worker-deps";

function deliveryDeps(deps: WorkerDeps): DeliveryDeps {
  const base = publicBaseUrl(deps.config);
  return {
    db: deps.db,
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

async function sendThroughChannel(deps: WorkerDeps, claim: Claim): Promise<string> {
  const content: RenderedContent = claim.content;
  switch (content.channel) {
    case "email": {
      const sent = await mailerFor(deps.config).send(buildEmail(claim, publicBaseUrl(deps.config)), `${claim.message.project_id}-${claim.message.id}`);
      return sent.response.slice(0, 200);
    }
    case "webhook": {
      const secret = webhookSecret(signingSecretOf(deps.config), claim.message.project_id);
      const result = await postWebhook(content.url, content.body, secret, deps.now(), { messageId: claim.message.id });
      return `HTTP ${result.status}`;
    }
    case "popup":
    case "chat":
      // The inbox is the ledger row itself: marking it sent puts it in the widget's inbox.
      return "";
  }
}

function failureOf(err: unknown, channel: string): SendFailure {
  if (err instanceof WebhookError) return err.failure;
  if (channel === "email") return classifySmtpError(err);
  return { permanent: false, hardBounce: false, reason: (err as Error).message ?? String(err) };
}

/**
 * Delivers one ledger message: the checks and the claim happen in PostgreSQL (see prepareDelivery),
 * so duplicate jobs, two workers or a redelivered job after a crash never send it twice; only the
 * claim holder marks it sent. Temporary failures give the claim back and let BullMQ retry with
 * backoff; permanent ones are recorded and not retried.
 */
export const deliveryJob: JobHandler<"delivery"> = async (deps, payload, job) => {
  const log = deps.log.child({ jobId: job.id, messageId: payload.messageId, projectId: payload.projectId });
  const ddeps = deliveryDeps(deps);
  const prepared = await prepareDelivery(ddeps, payload.projectId, payload.messageId);
  switch (prepared.kind) {
    case "done":
      return { outcome: "done", reason: prepared.reason };
    case "wait": {
      const jobId = deliveryJobId(payload.messageId, prepared.until);
      await enqueueDelivery(deps.queues, { ...payload, channel: prepared.channel, scheduledFor: prepared.until }, deps.now(), jobId === job.id ? { jobId: `${jobId}-again-${job.attemptsMade}` } : {});
      return { outcome: "waiting", until: prepared.until.toISOString(), reason: prepared.reason };
    }
    case "stopped":
      await enqueueNext(deps, prepared.next, log);
      return { outcome: prepared.status, reason: prepared.reason };
    case "send":
      break;
  }

  const claim = prepared.claim;
  let detail: string;
  try {
    detail = await sendThroughChannel(deps, claim);
  } catch (err) {
    const failure = failureOf(err, claim.message.channel);
    const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    if (failure.permanent || lastAttempt) {
      const reason = failure.permanent ? failure.reason : `gave up after ${job.attemptsMade + 1} attempts: ${failure.reason}`;
      const next = await failDelivery(ddeps, claim, reason, failure.hardBounce && claim.recipient ? { suppressAddress: claim.recipient.address } : {});
      await enqueueNext(deps, next, log);
      log.warn({ reason }, "delivery failed for good");
      throw new UnrecoverableError(reason);
    }
    await releaseClaim(ddeps, claim, failure.reason, retryAt(job, deps.now()));
    throw err;
  }
  const completion = await completeDelivery(ddeps, claim, { detail });
  if (!completion.kept) {
    log.warn("sent, but another worker had taken the message over; its claim decides the record");
    return { outcome: "sent-lost-claim" };
  }
  await enqueueNext(deps, completion.next, log);
  return { outcome: "sent" };
};
