import { AppError } from "@nurture/backend";
import type { FastifyInstance, FastifyRequest } from "fastify";

/** Deeper JSON than this is refused: no real event needs it, and recursive code downstream (JSON.stringify, validators) would overflow the stack. */
export const MAX_JSON_DEPTH = 64;

/** PostgreSQL text and jsonb cannot hold NUL, nor UTF-16 surrogates without their pair. */
const isStorable = (s: string) => !s.includes("\u0000") && s.isWellFormed();
const toStorable = (s: string) => s.replaceAll("\u0000", "\uFFFD").toWellFormed();

type Part = "body" | "query" | "params";

/**
 * Walks a parsed input without recursion. Strings PostgreSQL cannot store are repaired in place
 * (`repair`) or reported; returns the first problem found.
 */
function inspect(root: unknown, part: Part, repair: boolean): { path: string; message: string } | null {
  const stack: { value: unknown; path: string; depth: number }[] = [{ value: root, path: part, depth: 0 }];
  const unstorable = (path: string) => ({ path, message: "must be valid Unicode text without NUL characters" });
  while (stack.length > 0) {
    const { value, path, depth } = stack.pop()!;
    if (value === null || typeof value !== "object") continue;
    if (depth >= MAX_JSON_DEPTH) return { path, message: `nested more than ${MAX_JSON_DEPTH} levels deep` };
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      let child = record[key];
      if (typeof child === "string" && !isStorable(child)) {
        if (!repair) return unstorable(`${path}.${key}`);
        child = record[key] = toStorable(child);
      }
      if (!isStorable(key)) {
        if (!repair) return unstorable(`${path}.${toStorable(key)}`);
        delete record[key];
        record[toStorable(key)] = child;
      }
      if (child !== null && typeof child === "object") stack.push({ value: child, path: `${path}.${key}`, depth: depth + 1 });
    }
  }
  return null;
}

/**
 * Every request's body, query and path parameters are checked before validation: too-deep JSON is
 * refused (400). Text PostgreSQL cannot store is repaired on the public routes — a stray NUL in a
 * scraped page title must not cost the visitor's events — and refused with its path on admin
 * routes, where it is a mistake worth hearing about. Register it before the routes.
 */
export function registerInputGuard(app: FastifyInstance, isPublic: (path: string) => boolean): void {
  app.addHook("preValidation", async (request: FastifyRequest) => {
    const repair = isPublic(request.url.split("?")[0] ?? "");
    for (const part of ["params", "query", "body"] as const) {
      const problem = inspect(request[part], part, repair);
      if (problem) throw new AppError("validation_failed", `Invalid request: ${problem.path}: ${problem.message}`, [problem]);
    }
  });
}
