import { AppError, createIngestCoalescer, type IncomingEvent } from "@nurture/backend";
import type { FastifyRequest } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { AppDeps } from "../app-deps";
import { writeKeyAuth } from "../plugins/auth";
import { assertVerifiedIdentity, identitySettings } from "../plugins/identity-verification";
import { normalizeMessage } from "../schemas/normalize-message";
import {
  aliasBody,
  batchBody,
  groupBody,
  identifyBody,
  MAX_BATCH_BYTES,
  MAX_MESSAGE_BYTES,
  pageBody,
  screenBody,
  trackBody,
  type BatchMessage,
} from "../schemas/tracking.schemas";

const accepted = z.object({ success: z.literal(true), stored: z.number(), duplicates: z.number() });

/** Segment's per-message limit, checked on the raw JSON before validation. */
function assertMessageSizes(messages: unknown[], pathPrefix: string): void {
  messages.forEach((m, i) => {
    if (Buffer.byteLength(JSON.stringify(m) ?? "") > MAX_MESSAGE_BYTES) {
      throw new AppError("payload_too_large", `A message is larger than ${MAX_MESSAGE_BYTES} bytes`, [
        { path: `${pathPrefix}${i}`, message: `larger than ${MAX_MESSAGE_BYTES} bytes` },
      ]);
    }
  });
}

/**
 * Segment-compatible tracking API. A 2xx means every message of the request is committed in
 * PostgreSQL; a batch is stored whole or not at all (one invalid message rejects the batch with
 * its path). The downstream pipeline is enqueued after commit; if Redis is down the sweeper
 * enqueues it when Redis returns.
 */
export function ingestRoutes(deps: AppDeps): FastifyPluginAsyncZod {
  return async (app) => {
    const auth = writeKeyAuth(deps.db);
    // A busy project's concurrent requests share transactions and commits (group commit).
    const coalescer = createIngestCoalescer(deps.db);

    async function store(events: IncomingEvent[], request: FastifyRequest, pathOf: (index: number) => string) {
      await verifyIdentities(events, request, pathOf, deps.now());
      const result = await coalescer.ingest(request.project.id, events);
      if (result.stored > 0) deps.notifier.notify(request.project.id, result.userIds);
      return { success: true as const, stored: result.stored, duplicates: result.duplicates };
    }

    const single = (type: BatchMessage["type"], body: z.ZodType, summary: string) =>
      app.post(
        `/v1/${type}`,
        {
          schema: { tags: ["tracking"], summary, body, response: { 200: accepted } },
          bodyLimit: MAX_MESSAGE_BYTES,
          preValidation: auth,
        },
        async (request) => {
          const message = { ...(request.body as object), type } as BatchMessage;
          return store([normalizeMessage(message, new Date())], request, () => "body");
        },
      );

    single("track", trackBody, "Record an event");
    single("page", pageBody, "Record a page view");
    single("screen", screenBody, "Record a screen view");
    single("identify", identifyBody, "Identify a user and set traits (and property operations)");
    single("alias", aliasBody, "Link a previous id to a user id");
    single("group", groupBody, "Associate a user with a group");

    app.post(
      "/v1/batch",
      {
        schema: { tags: ["tracking"], summary: "Record many messages at once (stored whole or not at all)", body: batchBody, response: { 200: accepted } },
        bodyLimit: MAX_BATCH_BYTES,
        preValidation: [
          async (request) => {
            const raw = request.body as { batch?: unknown };
            if (Array.isArray(raw?.batch)) assertMessageSizes(raw.batch, "body.batch.");
          },
          auth,
        ],
      },
      async (request) => {
        const receivedAt = new Date();
        const { batch, sentAt, context } = request.body;
        const shared = { ...(sentAt ? { sentAt } : {}), ...(context ? { context } : {}) };
        const events = batch.map((m) => normalizeMessage(m, receivedAt, shared));
        return store(events, request, (i) => `body.batch.${i}`);
      },
    );
  };
}

/**
 * With identity verification on, a browser cannot claim a user id: identify and alias must carry
 * the token the site's server signed (`context.identityToken`), and other messages naming a user
 * id do not link the browser's anonymous id to that user (so nobody joins another person's card
 * and reads their inbox). Calls made with the secret key are trusted. The token is never stored.
 */
async function verifyIdentities(events: IncomingEvent[], request: FastifyRequest, pathOf: (index: number) => string, now: Date): Promise<void> {
  const enforce = !request.trustedSource && identitySettings(request.project).required;
  for (const [index, event] of events.entries()) {
    const token = typeof event.context.identityToken === "string" ? event.context.identityToken : undefined;
    delete event.context.identityToken;
    if (!enforce || event.userId === undefined) continue;
    if (event.type === "identify" || event.type === "alias") {
      await assertVerifiedIdentity(request.project, event.userId, token, now, `${pathOf(index)}.context.identityToken`);
    } else {
      delete event.anonymousId;
    }
  }
}
