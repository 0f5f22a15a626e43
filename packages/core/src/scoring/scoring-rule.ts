import { z } from "zod";
import { eventPropertyFilterSchema, type EventPropertyFilter } from "../conditions";

/**
 * How often one rule may score for one user. Limits count awards, including awards whose points
 * have since expired: "once per user" means once, not "once per expiry period".
 * - once_per_day: at most one award per UTC calendar day of the event's time.
 */
export type ScoringLimit = { type: "none" } | { type: "once_per_user" } | { type: "max_times"; times: number } | { type: "once_per_day" };

/** A scoring rule as the maths sees it (name, enabled flag and bookkeeping live in the backend). */
export interface ScoringRule {
  id: string;
  event: string;
  /** Every filter must hold on the event's properties; null scores every event of that name. */
  where: EventPropertyFilter[] | null;
  /** Negative points are allowed (an unsubscribe lowers interest); never 0. */
  points: number;
  limit: ScoringLimit;
  /** Points stop counting this many days (of 24 h) after the event happened; null keeps them. */
  expiresAfterDays: number | null;
}

/** Emitted by the scoring step itself: scoring them would feed the engine its own output. */
export const UNSCORABLE_EVENTS = ["$score_changed", "$score_crossed"] as const;

export const SCORING_LIMITS = { maxPoints: 1000, maxTimes: 10_000, maxExpiryDays: 3650, maxFilters: 10, maxRulesPerProject: 500 } as const;

const storableText = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .refine((s) => s.isWellFormed() && !s.includes("\u0000"), "must be valid Unicode text without NUL characters");

export const scoringLimitSchema = z.discriminatedUnion(
  "type",
  [
    z.strictObject({ type: z.literal("none") }),
    z.strictObject({ type: z.literal("once_per_user") }),
    z.strictObject({ type: z.literal("max_times"), times: z.number().int().min(1).max(SCORING_LIMITS.maxTimes) }),
    z.strictObject({ type: z.literal("once_per_day") }),
  ],
  { error: "type must be one of: none, once_per_user, max_times, once_per_day" },
);

const ruleFields = {
  name: storableText(200),
  event: storableText(200).refine((e) => !(UNSCORABLE_EVENTS as readonly string[]).includes(e), `must not be one of ${UNSCORABLE_EVENTS.join(", ")} (the scoring step emits them)`),
  where: z.array(eventPropertyFilterSchema).min(1).max(SCORING_LIMITS.maxFilters).nullable(),
  points: z
    .number()
    .int()
    .min(-SCORING_LIMITS.maxPoints)
    .max(SCORING_LIMITS.maxPoints)
    .refine((p) => p !== 0, "must not be 0"),
  limit: scoringLimitSchema,
  expiresAfterDays: z.number().int().min(1).max(SCORING_LIMITS.maxExpiryDays).nullable(),
  enabled: z.boolean(),
};

/** A new rule as the API accepts it: event + optional filter → points, optional limit and expiry. */
export const scoringRuleInputSchema = z.strictObject({
  ...ruleFields,
  where: ruleFields.where.optional(),
  limit: ruleFields.limit.optional(),
  expiresAfterDays: ruleFields.expiresAfterDays.optional(),
  enabled: ruleFields.enabled.optional(),
});
export type ScoringRuleInput = z.infer<typeof scoringRuleInputSchema>;

/** A change to a rule: any subset of the fields; null clears `where` / `expiresAfterDays`. */
export const scoringRulePatchSchema = z
  .strictObject({
    name: ruleFields.name.optional(),
    event: ruleFields.event.optional(),
    where: ruleFields.where.optional(),
    points: ruleFields.points.optional(),
    limit: ruleFields.limit.optional(),
    expiresAfterDays: ruleFields.expiresAfterDays.optional(),
    enabled: ruleFields.enabled.optional(),
  })
  .refine((patch) => Object.keys(patch).length > 0, "give at least one field to change");
export type ScoringRulePatch = z.infer<typeof scoringRulePatchSchema>;
