import { loadTrackerBundle, TRACKER_SNIPPET_TEMPLATE, trackerSnippet } from "@nurture/tracker";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { AppDeps } from "../app-deps";
import { secretKeyAuth } from "../plugins/auth";

const INSTALL = [
  "The website tracker. Paste this into every page's `<head>` (your write key and this server's public URL filled in;",
  "`GET /v1/project/tracker-snippet` returns it ready-made):",
  "",
  "```html",
  TRACKER_SNIPPET_TEMPLATE,
  "```",
  "",
  "Then `nurture.identify(userId, traits, { token })`, `nurture.track(event, properties)`, `nurture.props([{op, key, value}])`,",
  "`nurture.reset()` on logout. Page views, sessions, first-touch source and device details are collected automatically.",
].join("\n");

/** Serves the browser tracker (`/tracker.js`) and the project's install snippet. */
export function trackerRoutes(deps: AppDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      "/tracker.js",
      {
        schema: {
          tags: ["tracker"],
          summary: "The website tracker script",
          description: INSTALL,
          headers: z.object({ "if-none-match": z.string().optional() }).loose(),
        },
      },
      async (request, reply) => {
        const bundle = await loadTrackerBundle();
        // The snippet's URL is not versioned: browsers keep it an hour, then revalidate cheaply with the ETag.
        reply
          .header("cache-control", "public, max-age=3600, stale-while-revalidate=86400")
          .header("etag", bundle.etag)
          .header("x-content-type-options", "nosniff")
          .header("cross-origin-resource-policy", "cross-origin");
        if (request.headers["if-none-match"] === bundle.etag) return reply.code(304).send();
        return reply.type("application/javascript; charset=utf-8").send(bundle.code);
      },
    );

    app.get(
      "/v1/project/tracker-snippet",
      {
        schema: {
          tags: ["tracker"],
          summary: "The install snippet for this project's website, with its write key",
          response: { 200: z.object({ snippet: z.string(), host: z.string(), writeKey: z.string() }) },
        },
        preValidation: secretKeyAuth(deps.db),
      },
      async (request) => {
        const host = deps.config.PUBLIC_URL ?? `http://${deps.config.HOST}:${deps.config.PORT}`;
        const writeKey = request.project.write_key;
        return { snippet: trackerSnippet({ writeKey, host }), host: host.replace(/\/+$/, ""), writeKey };
      },
    );
  };
}
