import { randomBytes } from "node:crypto";
import { messagingSettingsSchema, type MessagingSettings } from "@nurture/core";
import type { DbOrTrx, ProjectRow } from "@nurture/db";
import { updateProjectSettings } from "../projects/projects.repository";

/** The project's messaging rules (time zone, quiet hours, daily caps, default sender); defaults when unset. */
export function messagingSettingsOf(project: Pick<ProjectRow, "settings">): MessagingSettings {
  const parsed = messagingSettingsSchema.safeParse(project.settings.messaging ?? {});
  // Stored settings were validated when saved; a later stricter schema falls back to defaults, not to a crash.
  return parsed.success ? parsed.data : messagingSettingsSchema.parse({});
}

export async function saveMessagingSettings(db: DbOrTrx, projectId: string, settings: MessagingSettings): Promise<MessagingSettings> {
  const saved = await updateProjectSettings(db, projectId, "messaging", settings as unknown as Record<string, unknown>);
  return messagingSettingsOf({ settings: saved });
}

/**
 * Identity verification (projects.settings.identity): when required, browser calls that claim a
 * user id must carry a token signed with the project's identity secret — see the widget routes.
 */
export interface IdentitySettings {
  required: boolean;
  /** HS256 secret shared with the site's server; null until generated. */
  secret: string | null;
}

export function identitySettingsOf(project: Pick<ProjectRow, "settings">): IdentitySettings {
  const raw = (project.settings.identity ?? {}) as { required?: unknown; secret?: unknown };
  return { required: raw.required === true, secret: typeof raw.secret === "string" && raw.secret.length >= 32 ? raw.secret : null };
}

/** Turns verification on or off; turning it on creates the secret if there is none. */
export async function saveIdentitySettings(db: DbOrTrx, project: Pick<ProjectRow, "id" | "settings">, change: { required?: boolean; rotateSecret?: boolean }): Promise<IdentitySettings> {
  const current = identitySettingsOf(project);
  const required = change.required ?? current.required;
  const secret = change.rotateSecret || (required && current.secret === null) ? `ids_${randomBytes(32).toString("base64url")}` : current.secret;
  const saved = await updateProjectSettings(db, project.id, "identity", { required, secret });
  return identitySettingsOf({ settings: saved });
}
