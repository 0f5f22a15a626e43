import { timingSafeEqual } from "node:crypto";
import { AppError, findProjectBySecretKey, findProjectByWriteKey } from "@nurture/backend";
import type { Db, ProjectRow } from "@nurture/db";
import type { FastifyBaseLogger, FastifyRequest } from "fastify";
import { createKeyCache, type KeyCache } from "./write-key-cache";

declare module "fastify" {
  interface FastifyRequest {
    project: ProjectRow;
    /** Tracking call made with the secret key (a site's server): its user ids need no identity token. */
    trustedSource?: boolean;
  }
}

function bearer(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer\s+(.+)$/i.exec(header);
  return match?.[1]?.trim();
}

/** Segment clients send the write key as the HTTP Basic user name with an empty password. */
function basicUser(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  const match = header && /^Basic\s+(.+)$/i.exec(header);
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], "base64").toString("utf8");
  const user = decoded.split(":")[0];
  return user || undefined;
}

export function secretKeyAuth(db: Db) {
  return async (request: FastifyRequest) => {
    const key = bearer(request);
    if (!key) throw new AppError("unauthorized", "Missing secret key: send `Authorization: Bearer <secretKey>`");
    if (key.startsWith("wk_")) throw new AppError("forbidden", "A write key can only send events; this route needs the project's secret key");
    const project = await findProjectBySecretKey(db, key);
    if (!project) throw new AppError("unauthorized", "Unknown secret key");
    request.project = project;
    request.log = request.log.child({ projectId: project.id });
  };
}

/** A rotated write key stops working at once in the process that rotated it and within this time everywhere else. */
const WRITE_KEY_CACHE_MS = 5_000;
const writeKeyCaches = new WeakMap<Db, KeyCache<ProjectRow>>();

export function forgetCachedWriteKeys(db: Db): void {
  writeKeyCaches.get(db)?.clear();
}

function projectForWriteKey(db: Db, key: string, log: FastifyBaseLogger): Promise<ProjectRow | undefined> {
  let cache = writeKeyCaches.get(db);
  if (!cache) {
    cache = createKeyCache({
      lookup: (k) => findProjectByWriteKey(db, k),
      ttlMs: WRITE_KEY_CACHE_MS,
      onRefreshError: (err) => log.warn({ err }, "write key refresh failed; the cached project serves until it expires"),
    });
    writeKeyCaches.set(db, cache);
  }
  return cache.get(key);
}

/** The write key from HTTP Basic, a Bearer header, the body (`writeKey`) or the query string. */
export function writeKeyAuth(db: Db) {
  return async (request: FastifyRequest) => {
    const body = request.body as { writeKey?: unknown } | undefined;
    const query = request.query as { writeKey?: unknown } | undefined;
    const key =
      basicUser(request) ??
      bearer(request) ??
      (typeof body?.writeKey === "string" ? body.writeKey : undefined) ??
      (typeof query?.writeKey === "string" ? query.writeKey : undefined);
    if (!key) throw new AppError("unauthorized", "Missing write key: send it as the HTTP Basic user name or as `writeKey` in the body");
    if (key.startsWith("sk_")) {
      // Server-side sources may send events with the secret key: they vouch for their user ids.
      const trusted = await findProjectBySecretKey(db, key);
      if (!trusted) throw new AppError("unauthorized", "Unknown secret key");
      request.project = trusted;
      request.trustedSource = true;
      request.log = request.log.child({ projectId: trusted.id });
      return;
    }
    const project = await projectForWriteKey(db, key, request.server.log);
    if (!project) throw new AppError("unauthorized", "Unknown write key");
    request.project = project;
    request.log = request.log.child({ projectId: project.id });
  };
}

export function adminTokenAuth(adminToken: string | undefined) {
  return async (request: FastifyRequest) => {
    if (!adminToken) throw new AppError("forbidden", "The operator API is disabled: set NURTURE_ADMIN_TOKEN to enable it");
    const given = bearer(request);
    const ok = given !== undefined && given.length === adminToken.length && timingSafeEqual(Buffer.from(given), Buffer.from(adminToken));
    if (!ok) throw new AppError("unauthorized", "Missing or wrong operator token (NURTURE_ADMIN_TOKEN)");
  };
}
