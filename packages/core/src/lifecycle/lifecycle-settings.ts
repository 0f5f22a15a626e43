import { z } from "zod";

const eventName = z.string().min(1).max(200);

/**
 * Per project: which events mean "did the core action", "was active" and "used the advanced feature",
 * and the thresholds of the stages. Stored in projects.settings.lifecycle; every field has a default.
 */
export const lifecycleSettingsSchema = z.strictObject({
  /** e.g. "survey_created"; while unset, every identified user is "new". */
  coreEvent: eventName.nullable().default(null),
  /** e.g. "$session_start"; while unset, any activity (the card's last-seen time) counts. */
  activityEvent: eventName.nullable().default(null),
  /** e.g. "integration_used"; while unset, nobody reaches "power". */
  advancedEvent: eventName.nullable().default(null),
  /** Engaged users were active within this many days. */
  activeWithinDays: z.number().int().min(1).max(365).default(7),
  /** ... did the core action within this many days ... */
  coreWithinDays: z.number().int().min(1).max(365).default(14),
  /** ... and more than this many core actions in total. */
  coreCountAbove: z.number().int().min(0).max(1_000_000).default(5),
  /** Power users also have a lead score at or above this; null leaves the score out. */
  powerMinScore: z.number().nullable().default(null),
});

export type LifecycleSettings = z.output<typeof lifecycleSettingsSchema>;
export type LifecycleSettingsInput = z.input<typeof lifecycleSettingsSchema>;

export const DEFAULT_LIFECYCLE_SETTINGS: LifecycleSettings = lifecycleSettingsSchema.parse({});
