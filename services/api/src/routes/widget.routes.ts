import { AppError, loadWidgetVisitor, recordWidgetAction, type WidgetMessage, type WidgetVisitor } from "@nurture/backend";
import type { ProjectRow } from "@nurture/db";
import type { FastifyBaseLogger } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { AppDeps } from "../app-deps";
import { writeKeyAuth } from "../plugins/auth";
import { assertVerifiedIdentity } from "../plugins/identity-verification";

const visitor = {
  writeKey: z.string().min(1).max(200).optional(),
  anonymousId: z.string().min(1).max(200),
  userId: z.string().min(1).max(200).optional(),
};
/** A waiting request looks at the inbox again at least this often, without a signal. */
const LOOK_AGAIN_MS = 5_000;
const LOOK_AGAIN_WITHOUT_CARD_MS = 1_000;
const inboxQuery = z.object({
  ...visitor,
  wait: z.coerce
    .number()
    .int()
    .min(0)
    .max(25)
    .optional()
    .describe("Seconds to hold the request while the inbox is empty: it answers as soon as a message arrives (long polling). 0 or absent answers at once."),
});
const identityHeader = z.object({ "x-nurture-identity": z.string().max(4_000).optional() }).loose();
const widgetMessage = z.object({
  id: z.string(),
  channel: z.enum(["popup", "chat"]),
  content: z.object({
    title: z.string().optional(),
    body: z.string().optional(),
    buttonLabel: z.string().optional(),
    buttonUrl: z.string().optional(),
    text: z.string().optional(),
    senderName: z.string().optional(),
  }),
  createdAt: z.string(),
});

/**
 * Whose inbox this is, proven when the project requires identity verification: a claimed user id
 * needs a token for it, and an anonymous id that now belongs to a known user needs that user's token —
 * so neither guessing a user id nor learning an anonymous id opens someone else's inbox.
 */
async function verifiedVisitor(
  deps: AppDeps,
  cached: ProjectRow,
  who: { anonymousId: string; userId?: string | undefined },
  token: string | undefined,
  options: { inbox: boolean },
): Promise<WidgetVisitor> {
  const now = deps.now();
  const visitor = await loadWidgetVisitor(deps.db, cached.id, who, now, options);
  const project = { ...cached, settings: visitor.settings };
  if (who.userId !== undefined) await assertVerifiedIdentity(project, who.userId, token, now, "headers.x-nurture-identity");
  else if (visitor.user?.userId) await assertVerifiedIdentity(project, visitor.user.userId, token, now, "headers.x-nurture-identity");
  return visitor;
}

/**
 * Long polling: looks again each time the worker signals this visitor's inbox, and on its own now
 * and then (a lost signal; a visitor whose card does not exist yet, their first events in flight),
 * until something is there, `ms` have passed, or the visitor left.
 */
async function waitForInbox(
  deps: AppDeps,
  projectId: string,
  first: { visitor: WidgetVisitor; since: number },
  look: () => Promise<{ visitor: WidgetVisitor; since: number }>,
  ms: number,
  left: AbortSignal,
): Promise<WidgetVisitor> {
  const deadline = Date.now() + ms;
  let { visitor, since } = first;
  while (visitor.inbox.length === 0 && !left.aborted && Date.now() < deadline) {
    const slice = Math.min(deadline - Date.now(), visitor.user ? LOOK_AGAIN_MS : LOOK_AGAIN_WITHOUT_CARD_MS);
    const brought = await deps.inboxWaiters.wait(projectId, visitor.user?.id ?? null, slice, left, since);
    // The signal's messages are what the inbox holds now: it was empty at the last look.
    if (brought) visitor = { ...visitor, inbox: brought as WidgetMessage[] };
    else if (!left.aborted) ({ visitor, since } = await look());
  }
  return visitor;
}

/** The on-site widget: the visitor's pending popups and chat messages, and what they did with them. */
export function widgetRoutes(deps: AppDeps): FastifyPluginAsyncZod {
  return async (app) => {
    const auth = writeKeyAuth(deps.db);
    /** When a full house was last logged: once a minute says it without flooding the log. */
    let fullLoggedAt = 0;
    /**
     * Whether this process may hold one more request open. Each costs a socket and some memory,
     * so a traffic spike must not hold them without bound; a request turned away answers at once
     * and the widget asks again after its usual pause.
     */
    const roomToWait = (log: FastifyBaseLogger) => {
      const waiting = deps.inboxWaiters.count();
      if (waiting < deps.config.WIDGET_MAX_WAITING) return true;
      if (Date.now() - fullLoggedAt > 60_000) {
        fullLoggedAt = Date.now();
        log.warn({ waiting, limit: deps.config.WIDGET_MAX_WAITING }, "widget requests answered without waiting: WIDGET_MAX_WAITING are waiting");
      }
      return false;
    };

    app.get(
      "/v1/widget/messages",
      {
        schema: {
          tags: ["widget"],
          summary: "The visitor's pending popups and chat messages (write key + the visitor's ids); with `wait`, held until one arrives",
          description: "When the project requires identity verification, send the token your server signed for the user as `X-Nurture-Identity`.",
          querystring: inboxQuery,
          headers: identityHeader,
          response: { 200: z.object({ messages: z.array(widgetMessage) }) },
        },
        preValidation: auth,
      },
      async (request, reply) => {
        reply.header("cache-control", "no-store");
        const { wait, ...who } = request.query;
        // Each look notes when it began: a signal heard since then is one it may have missed.
        const look = async () => {
          const since = performance.now();
          return { visitor: await verifiedVisitor(deps, request.project, who, request.headers["x-nurture-identity"], { inbox: true }), since };
        };
        const first = await look();
        if (!wait || first.visitor.inbox.length > 0 || !roomToWait(request.log)) return { messages: first.visitor.inbox };
        // The visitor left (tab closed, navigation): stop waiting for them.
        const left = new AbortController();
        reply.raw.once("close", () => left.abort());
        return { messages: (await waitForInbox(deps, request.project.id, first, look, wait * 1_000, left.signal)).inbox };
      },
    );

    app.post(
      "/v1/widget/messages/:id/:action",
      {
        schema: {
          tags: ["widget"],
          summary: "Record that the visitor saw, clicked, dismissed or replied to a message",
          description: "A reply lands on the card as a conversation line and as a `$message_replied` event (usable as a campaign trigger).",
          params: z.object({ id: z.string().regex(/^\d{1,15}$/, "must be a message id"), action: z.enum(["shown", "clicked", "dismissed", "reply"]) }),
          body: z.object({ ...visitor, text: z.string().min(1).max(5_000).optional() }),
          headers: identityHeader,
          response: { 200: z.object({ success: z.literal(true) }) },
        },
        preValidation: auth,
      },
      async (request) => {
        const { id, action } = request.params;
        const { user } = await verifiedVisitor(deps, request.project, request.body, request.headers["x-nurture-identity"], { inbox: false });
        if (!user) throw new AppError("not_found", "Message not found in this visitor's inbox");
        const userIds = await recordWidgetAction(
          deps.db,
          request.project.id,
          { user, anonymousId: request.body.anonymousId, userId: request.body.userId },
          Number(id),
          action,
          request.body.text,
          deps.now(),
        );
        if (userIds.length > 0) deps.notifier.notify(request.project.id, userIds);
        return { success: true as const };
      },
    );
  };
}

