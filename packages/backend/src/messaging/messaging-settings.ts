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
