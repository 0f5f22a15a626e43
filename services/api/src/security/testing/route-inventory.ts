import type { FastifyInstance } from "fastify";

export interface RouteEntry {
  method: string;
  /** Fastify's pattern, e.g. `/v1/segments/:id/users/:userId/explain`. */
  path: string;
}

/**
 * Every route the app serves (HEAD and OPTIONS aside), read from Fastify's own route tree, so
 * routes hidden from the OpenAPI document are included and new ones are covered without editing
 * the tests.
 */
export function listRoutes(app: FastifyInstance): RouteEntry[] {
  const routes: RouteEntry[] = [];
  const prefixes: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split("\n")) {
    const match = /^(.*?)(?:├── |└── )(.+?)(?: \(([^)]+)\))?$/.exec(line);
    if (!match) continue;
    const depth = match[1]!.length / 4;
    prefixes.length = depth;
    const path = (prefixes[depth - 1] ?? "") + match[2]!;
    prefixes[depth] = path;
    for (const method of (match[3] ?? "").split(", ").filter(Boolean)) {
      if (method !== "HEAD" && method !== "OPTIONS") routes.push({ method, path });
    }
  }
  return routes;
}

/** The route's path parameter names, in order. */
export const paramNames = (path: string): string[] => [...path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!);

export const fillParams = (path: string, values: Record<string, string>): string =>
  path.replace(/:([A-Za-z0-9_]+)/g, (_, name: string) => encodeURIComponent(values[name] ?? "x"));
