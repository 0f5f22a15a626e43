import { z } from "zod";
import { conditionSchema, eventPropertyFilterSchema } from "../conditions";
import { compileTemplate, formatTemplateProblem, type TemplateEscaping } from "../templates";
import { LIFECYCLE_STAGES } from "../user-card";

export const CHANNELS = ["email", "popup", "chat", "webhook"] as const;
export type Channel = (typeof CHANNELS)[number];

export const CAMPAIGN_STATUSES = ["draft", "active", "paused", "archived"] as const;
export type CampaignStatus = (typeof CAMPAIGN_STATUSES)[number];

const plainText = (max: number) =>
  z
    .string()
    .max(max)
    .refine((s) => !/[\r\n\0]/.test(s), "must be a single line");

const eventName = z.string().min(1).max(200);

/** A Liquid template, parsed when the campaign is saved: a broken one is refused with line and column. */
export const templateText = (max: number, escaping: TemplateEscaping = "none") =>
  z
    .string()
    .max(max)
    .superRefine((source, ctx) => {
      const check = compileTemplate(source, escaping);
      if (!check.ok) ctx.addIssue({ code: "custom", message: `invalid template: ${formatTemplateProblem(check.problem)}` });
    });

export const emailContentSchema = z.strictObject({
  subject: templateText(998).pipe(z.string().min(1)),
  html: templateText(100_000, "html").pipe(z.string().min(1)),
  /** Plain-text part; derived from the HTML when absent. */
  text: templateText(100_000).optional(),
  fromName: plainText(200).optional(),
  fromAddress: z.email().max(254).optional(),
  replyTo: z.email().max(254).optional(),
});

export const popupContentSchema = z.strictObject({
  title: templateText(500).optional(),
  body: templateText(10_000).pipe(z.string().min(1)),
  buttonLabel: templateText(200).optional(),
  /** Rendered, then kept only if it is an http(s) URL. */
  buttonUrl: templateText(2_000).optional(),
});

export const chatContentSchema = z.strictObject({
  text: templateText(10_000).pipe(z.string().min(1)),
  senderName: plainText(200).optional(),
});

/** A JSON body whose string values are templates; rendering keeps it valid JSON. */
const webhookBody: z.ZodType<unknown> = z.lazy(() =>
  z.union([templateText(10_000), z.number(), z.boolean(), z.null(), z.array(webhookBody).max(100), z.record(z.string().max(200), webhookBody)]),
);

export const webhookContentSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/ }).max(2_000),
  body: z.record(z.string().max(200), webhookBody).refine((b) => JSON.stringify(b).length <= 50_000, "must be at most 50,000 characters of JSON"),
});

export const delaySchema = z.strictObject({
  amount: z.number().int().min(0).max(100_000),
  unit: z.enum(["seconds", "minutes", "hours", "days"]),
});
export type Delay = z.infer<typeof delaySchema>;

const UNIT_MS = { seconds: 1_000, minutes: 60_000, hours: 3_600_000, days: 86_400_000 } as const;
export const MAX_DELAY_MS = 365 * UNIT_MS.days;
export const delayMs = (delay: Delay | undefined): number => (delay ? delay.amount * UNIT_MS[delay.unit] : 0);

const stepCommon = {
  /** Keeps a step's identity across edits, so people who got it are not sent it again. */
  id: z.uuid().optional(),
  /** Wait before this step: after the trigger for the first step, after the previous step otherwise. */
  delay: delaySchema.refine((d) => delayMs(d) <= MAX_DELAY_MS, "must be at most 365 days").optional(),
  /** Must hold when the step is about to go out (besides the campaign audience). */
  condition: conditionSchema.optional(),
};

export const stepSchema = z.discriminatedUnion("channel", [
  z.strictObject({ ...stepCommon, channel: z.literal("email"), content: emailContentSchema }),
  z.strictObject({ ...stepCommon, channel: z.literal("popup"), content: popupContentSchema }),
  z.strictObject({ ...stepCommon, channel: z.literal("chat"), content: chatContentSchema }),
  z.strictObject({ ...stepCommon, channel: z.literal("webhook"), content: webhookContentSchema }),
]);
export type StepInput = z.infer<typeof stepSchema>;

export const triggerSchema = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("event"),
    event: eventName,
    /** Every filter must hold on the event's properties. */
    where: z.array(eventPropertyFilterSchema).max(10).optional(),
  }),
  z.strictObject({ type: z.literal("segment_entered"), segmentId: z.string().min(1).max(200) }),
  z.strictObject({ type: z.literal("segment_exited"), segmentId: z.string().min(1).max(200) }),
  z.strictObject({ type: z.literal("lifecycle_changed"), from: z.enum(LIFECYCLE_STAGES).optional(), to: z.enum(LIFECYCLE_STAGES).optional() }),
  z.strictObject({ type: z.literal("score_crossed"), threshold: z.number(), direction: z.enum(["up", "down"]).default("up") }),
]);
export type CampaignTrigger = z.infer<typeof triggerSchema>;

export const repeatSchema = z.discriminatedUnion("mode", [
  z.strictObject({ mode: z.literal("once") }),
  z.strictObject({ mode: z.literal("every"), days: z.number().int().min(1).max(3650) }),
]);
export type RepeatPolicy = z.infer<typeof repeatSchema>;

export const goalSchema = z.strictObject({
  event: eventName,
  where: z.array(eventPropertyFilterSchema).max(10).optional(),
  /** A message converts when the goal happens within this many days after it was sent. */
  withinDays: z.number().int().min(1).max(365).default(7),
  /** The goal event's property summed as revenue. */
  revenueProperty: z.string().min(1).max(200).default("revenue"),
});
export type CampaignGoal = z.infer<typeof goalSchema>;

export const campaignInputSchema = z.strictObject({
  name: z.string().trim().min(1).max(200),
  description: z.string().max(2_000).optional(),
  trigger: triggerSchema,
  /** Must hold when the trigger fires and again when each step is about to go out. */
  audience: conditionSchema.optional(),
  repeat: repeatSchema.default({ mode: "once" }),
  goal: goalSchema.optional(),
  steps: z.array(stepSchema).min(1).max(20),
});
export type CampaignInput = z.infer<typeof campaignInputSchema>;

const clock = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, "must be a time of day as HH:MM (24-hour)");

export function isValidTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone });
    return true;
  } catch {
    return false;
  }
}

/** Project-wide rules that protect people from too many messages; stored in projects.settings.messaging. */
export const messagingSettingsSchema = z.strictObject({
  timeZone: z.string().refine(isValidTimeZone, "must be an IANA time zone such as Europe/Berlin").default("UTC"),
  /** Messages of these channels that fall in the window wait until it ends (local time). */
  quietHours: z
    .strictObject({ start: clock, end: clock, channels: z.array(z.enum(CHANNELS)).min(1).default(["email"]) })
    .refine((q) => q.start !== q.end, { message: "start and end must differ", path: ["end"] })
    .nullable()
    .default(null),
  /** At most this many messages per user per local day, per channel, across all campaigns. */
  dailyCaps: z.strictObject(Object.fromEntries(CHANNELS.map((c) => [c, z.number().int().min(0).max(1_000).optional()])) as Record<Channel, z.ZodOptional<z.ZodNumber>>).default({}),
  email: z.strictObject({ fromName: plainText(200).optional(), fromAddress: z.email().max(254).optional(), replyTo: z.email().max(254).optional() }).default({}),
});
export type MessagingSettings = z.infer<typeof messagingSettingsSchema>;
export type QuietHours = NonNullable<MessagingSettings["quietHours"]>;
