import { propertyOpSchema } from "@nurture/core";
import { z } from "zod";

/**
 * Segment's HTTP tracking API (https://segment.com/docs/connections/sources/catalog/libraries/server/http-api/),
 * so existing Segment/RudderStack clients can point here, plus Nurture's `ops` on identify.
 */
const id = z.union([z.string().min(1).max(200), z.number().transform(String)]).pipe(z.string().min(1).max(200));
const isoDate = z.iso.datetime({ offset: true, local: false }).or(z.iso.date());
const jsonObject = z.record(z.string(), z.unknown());

const common = {
  messageId: z.string().min(1).max(200).optional().describe("Makes the message idempotent; generated when absent"),
  userId: id.optional(),
  anonymousId: id.optional(),
  timestamp: isoDate.optional().describe("When it happened, client clock; corrected with sentAt"),
  sentAt: isoDate.optional(),
  context: jsonObject.optional(),
  integrations: jsonObject.optional(),
  writeKey: z.string().optional(),
};

export const trackSchema = z.object({ ...common, type: z.literal("track").optional(), event: z.string().min(1).max(200), properties: jsonObject.optional() });
export const pageSchema = z.object({
  ...common,
  type: z.literal("page").optional(),
  name: z.string().max(200).optional(),
  category: z.string().max(200).optional(),
  properties: jsonObject.optional(),
});
export const screenSchema = z.object({ ...common, type: z.literal("screen").optional(), name: z.string().max(200).optional(), properties: jsonObject.optional() });
export const identifySchema = z.object({
  ...common,
  type: z.literal("identify").optional(),
  traits: jsonObject.optional(),
  ops: z.array(propertyOpSchema).max(100).optional().describe("Nurture extension: property operations applied after traits"),
});
export const aliasSchema = z.object({ ...common, type: z.literal("alias").optional(), previousId: id, userId: id });
export const groupSchema = z.object({ ...common, type: z.literal("group").optional(), groupId: id, traits: jsonObject.optional() });

const withIdentity = <T extends z.ZodType<{ userId?: string; anonymousId?: string }>>(schema: T) =>
  schema.refine((m) => m.userId !== undefined || m.anonymousId !== undefined, { message: "userId or anonymousId is required", path: ["userId"] });

export const trackBody = withIdentity(trackSchema);
export const pageBody = withIdentity(pageSchema);
export const screenBody = withIdentity(screenSchema);
export const identifyBody = withIdentity(identifySchema);
export const aliasBody = aliasSchema;
export const groupBody = withIdentity(groupSchema);

export const batchMessageSchema = withIdentity(
  z.discriminatedUnion("type", [
    trackSchema.extend({ type: z.literal("track") }),
    pageSchema.extend({ type: z.literal("page") }),
    screenSchema.extend({ type: z.literal("screen") }),
    identifySchema.extend({ type: z.literal("identify") }),
    aliasSchema.extend({ type: z.literal("alias") }),
    groupSchema.extend({ type: z.literal("group") }),
  ]),
);

export const batchBody = z.object({
  batch: z.array(batchMessageSchema).min(1).max(2_000),
  sentAt: isoDate.optional(),
  context: jsonObject.optional(),
  writeKey: z.string().optional(),
});

export type BatchMessage = z.infer<typeof batchMessageSchema>;
export type BatchBody = z.infer<typeof batchBody>;

/** Segment's limits: 32 KB per message, 500 KB per request. */
export const MAX_MESSAGE_BYTES = 32 * 1024;
export const MAX_BATCH_BYTES = 500 * 1024;
