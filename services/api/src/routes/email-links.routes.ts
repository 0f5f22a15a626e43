import { createLinkSigner, recordEmailClick, recordEmailOpen, signingSecretOf, unsubscribeByMessage, type LinkSigner } from "@nurture/backend";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { AppDeps } from "../app-deps";

/** A 1×1 transparent GIF. */
const PIXEL = Buffer.from("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7", "base64");
const tokenParams = z.object({ token: z.string().min(10).max(8_000) });

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex">
<title>${escapeHtml(title)}</title><style>body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}button{font:inherit;padding:.5rem 1rem;cursor:pointer}</style></head>
<body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

/**
 * Links inside emails, signed with SIGNING_SECRET: the open pixel, click redirects and the
 * unsubscribe link. Unsubscribing needs a POST (RFC 8058 one-click from the mailbox provider, or the
 * button on the confirmation page); a GET only shows the page, because link scanners fetch links.
 */
export function emailLinksRoutes(deps: AppDeps): FastifyPluginAsyncZod {
  return async (app) => {
    let signer: LinkSigner | undefined;
    const links = () => (signer ??= createLinkSigner(signingSecretOf(deps.config)));
    const notify = (result: { projectId: string; userIds: number[] } | null) => {
      if (result && result.userIds.length > 0) deps.notifier.notify(result.projectId, result.userIds);
    };

    // One-click unsubscribe POSTs form data (or nothing); the body is not needed, only the signed link.
    app.addContentTypeParser("*", { parseAs: "buffer", bodyLimit: 16 * 1024 }, (_req, _body, done) => done(null, undefined));
    app.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "buffer", bodyLimit: 16 * 1024 }, (_req, _body, done) => done(null, undefined));

    app.get("/email/open/:token", { schema: { tags: ["email"], summary: "Open-tracking pixel", params: tokenParams, hide: true } }, async (request, reply) => {
      const payload = links().verify("open", request.params.token);
      if (payload) notify(await recordEmailOpen(deps.db, payload.messageId, deps.now()));
      return reply.header("cache-control", "no-store, max-age=0").type("image/gif").send(PIXEL);
    });

    app.get("/email/click/:token", { schema: { tags: ["email"], summary: "Click-tracking redirect", params: tokenParams, hide: true } }, async (request, reply) => {
      const payload = links().verify("click", request.params.token);
      if (!payload?.url || !/^https?:\/\//i.test(payload.url)) {
        return reply.code(404).type("text/html").send(page("Link not found", "<p>This link is not valid.</p>"));
      }
      notify(await recordEmailClick(deps.db, payload.messageId, payload.url, deps.now()));
      return reply.header("cache-control", "no-store").redirect(payload.url, 302);
    });

    app.get("/email/unsubscribe/:token", { schema: { tags: ["email"], summary: "Unsubscribe confirmation page (changes nothing)", params: tokenParams } }, async (request, reply) => {
      reply.type("text/html").header("cache-control", "no-store");
      if (!links().verify("unsubscribe", request.params.token)) return reply.code(404).send(page("Link not found", "<p>This unsubscribe link is not valid.</p>"));
      return page(
        "Unsubscribe",
        `<p>Stop receiving these emails?</p><form method="post" action="${escapeHtml(request.params.token)}"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe</button></form>`,
      );
    });

    app.post(
      "/email/unsubscribe/:token",
      { schema: { tags: ["email"], summary: "Unsubscribe from the project's email (RFC 8058 one-click)", params: tokenParams } },
      async (request, reply) => {
        reply.type("text/html").header("cache-control", "no-store");
        const payload = links().verify("unsubscribe", request.params.token);
        if (!payload) return reply.code(404).send(page("Link not found", "<p>This unsubscribe link is not valid.</p>"));
        const form = request.headers["content-type"]?.startsWith("application/x-www-form-urlencoded") || request.headers["content-type"]?.startsWith("multipart/form-data");
        const result = await unsubscribeByMessage(deps.db, payload.messageId, form && !request.headers["sec-fetch-mode"] ? "one_click" : "link", deps.now());
        if (!result) return reply.code(404).send(page("Link not found", "<p>This unsubscribe link is no longer valid.</p>"));
        notify(result);
        return page("You are unsubscribed", "<p>You will not receive these emails any more.</p>");
      },
    );
  };
}
