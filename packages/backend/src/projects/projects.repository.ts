import type { DbOrTrx, ProjectRow } from "@nurture/db";
import { sql } from "kysely";
import { AppError } from "../errors";
import { hashSecretKey, newSecretKey, newWriteKey } from "./project-keys";

export interface CreatedProject {
  id: string;
  name: string;
  writeKey: string;
  secretKey: string;
}

export async function createProject(db: DbOrTrx, name: string): Promise<CreatedProject> {
  const writeKey = newWriteKey();
  const secretKey = newSecretKey();
  const row = await db
    .insertInto("projects")
    .values({ name, write_key: writeKey, secret_key_hash: hashSecretKey(secretKey) })
    .returning(["id", "name"])
    .executeTakeFirstOrThrow();
  return { id: row.id, name: row.name, writeKey, secretKey };
}

export type RotatableKey = "write" | "secret";

/** Replaces the named keys; the old ones stop working at once. Returns only the new keys. */
export async function rotateProjectKeys(
  db: DbOrTrx,
  projectId: string,
  which: RotatableKey[],
): Promise<{ writeKey?: string; secretKey?: string }> {
  const writeKey = which.includes("write") ? newWriteKey() : undefined;
  const secretKey = which.includes("secret") ? newSecretKey() : undefined;
  const updated = await db
    .updateTable("projects")
    .set({
      ...(writeKey ? { write_key: writeKey } : {}),
      ...(secretKey ? { secret_key_hash: hashSecretKey(secretKey) } : {}),
    })
    .where("id", "=", projectId)
    .executeTakeFirst();
  if (Number(updated.numUpdatedRows) === 0) throw new AppError("not_found", "Project not found");
  return { ...(writeKey ? { writeKey } : {}), ...(secretKey ? { secretKey } : {}) };
}

export function findProjectByWriteKey(db: DbOrTrx, writeKey: string): Promise<ProjectRow | undefined> {
  return db.selectFrom("projects").selectAll().where("write_key", "=", writeKey).executeTakeFirst();
}

export function findProjectBySecretKey(db: DbOrTrx, secretKey: string): Promise<ProjectRow | undefined> {
  return db.selectFrom("projects").selectAll().where("secret_key_hash", "=", hashSecretKey(secretKey)).executeTakeFirst();
}

export function getProject(db: DbOrTrx, projectId: string): Promise<ProjectRow | undefined> {
  return db.selectFrom("projects").selectAll().where("id", "=", projectId).executeTakeFirst();
}

export function listProjects(db: DbOrTrx): Promise<Pick<ProjectRow, "id" | "name" | "write_key" | "created_at">[]> {
  return db.selectFrom("projects").select(["id", "name", "write_key", "created_at"]).orderBy("created_at").execute();
}

/**
 * Merges one feature's settings object into project.settings under its own key, so features never
 * overwrite each other's settings.
 */
export async function updateProjectSettings(
  db: DbOrTrx,
  projectId: string,
  section: string,
  value: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const row = await db
    .updateTable("projects")
    .set({ settings: sql<Record<string, unknown>>`jsonb_set(settings, ${`{${section}}`}::text[], ${JSON.stringify(value)}::jsonb, true)` })
    .where("id", "=", projectId)
    .returning("settings")
    .executeTakeFirst();
  if (!row) throw new AppError("not_found", "Project not found");
  return row.settings;
}
