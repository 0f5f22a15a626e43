import type { UserCard } from "../user-card";
import { compileTemplate, renderTemplate, type CompiledTemplate, type TemplateEscaping } from "../templates";
import type { Channel, StepInput } from "./campaign.schema";
import { htmlToText } from "./email-html";

/** What a step's templates produce for one user, per channel. */
export type RenderedContent =
  | { channel: "email"; subject: string; html: string; text: string; fromName?: string; fromAddress?: string; replyTo?: string }
  | { channel: "popup"; title?: string; body: string; buttonLabel?: string; buttonUrl?: string }
  | { channel: "chat"; text: string; senderName?: string }
  | { channel: "webhook"; url: string; body: unknown };

/** A step's channel with its content, kept correlated per channel. */
export type StepContent = StepInput extends infer S ? (S extends StepInput ? Pick<S, "channel" | "content"> : never) : never;

/** The variables a template sees. Values are data: a trait holding "{{ x }}" is printed as is. */
export interface TemplateData {
  user: Record<string, unknown>;
  event: { name: string; properties: Record<string, unknown> } | null;
  campaign: { name: string };
  unsubscribe_url: string | null;
}

export function templateData(input: {
  card: Pick<UserCard, "userId" | "properties">;
  event: { name: string; properties: Record<string, unknown> } | null;
  campaignName: string;
  unsubscribeUrl: string | null;
}): TemplateData {
  return {
    user: { ...input.card.properties, id: input.card.userId },
    event: input.event,
    campaign: { name: input.campaignName },
    unsubscribe_url: input.unsubscribeUrl,
  };
}

const cache = new Map<string, CompiledTemplate>();
const CACHE_MAX = 2_000;

/** Parsed templates are reused across sends (keyed by escaping + source). */
function compiled(source: string, escaping: TemplateEscaping): CompiledTemplate {
  const key = `${escaping}\u0000${source}`;
  let template = cache.get(key);
  if (!template) {
    const check = compileTemplate(source, escaping);
    if (!check.ok) throw new Error(`stored template no longer parses: ${check.problem.message}`);
    template = check.template;
    if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value!);
    cache.set(key, template);
  }
  return template;
}

const render = (source: string, data: TemplateData, escaping: TemplateEscaping = "none") => renderTemplate(compiled(source, escaping), data as unknown as Record<string, unknown>);
const renderOptional = async (source: string | undefined, data: TemplateData) => (source === undefined ? undefined : (await render(source, data)).trim() || undefined);

/** Header values are one line: CR, LF and other controls a trait may carry become spaces. */
export function singleLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, " ").replace(/\s{2,}/g, " ").trim();
}

/** A link the widget may follow: http(s) only, anything else is dropped. */
export function safeHttpUrl(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const parsed = new URL(url.trim());
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : undefined;
  } catch {
    return undefined;
  }
}

async function renderJson(value: unknown, data: TemplateData): Promise<unknown> {
  if (typeof value === "string") return render(value, data);
  if (Array.isArray(value)) return Promise.all(value.map((v) => renderJson(v, data)));
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = await renderJson(v, data);
    return out;
  }
  return value;
}

export async function renderStepContent(step: StepContent, data: TemplateData): Promise<RenderedContent> {
  switch (step.channel) {
    case "email": {
      const c = step.content;
      const html = await render(c.html, data, "html");
      const text = c.text !== undefined ? await render(c.text, data) : htmlToText(html);
      return {
        channel: "email",
        subject: singleLine(await render(c.subject, data)),
        html,
        text,
        ...(c.fromName ? { fromName: c.fromName } : {}),
        ...(c.fromAddress ? { fromAddress: c.fromAddress } : {}),
        ...(c.replyTo ? { replyTo: c.replyTo } : {}),
      };
    }
    case "popup": {
      const c = step.content;
      const title = await renderOptional(c.title, data);
      const buttonLabel = await renderOptional(c.buttonLabel, data);
      const buttonUrl = safeHttpUrl(await renderOptional(c.buttonUrl, data));
      return {
        channel: "popup",
        body: await render(c.body, data),
        ...(title ? { title } : {}),
        ...(buttonLabel ? { buttonLabel } : {}),
        ...(buttonUrl ? { buttonUrl } : {}),
      };
    }
    case "chat":
      return { channel: "chat", text: await render(step.content.text, data), ...(step.content.senderName ? { senderName: step.content.senderName } : {}) };
    case "webhook":
      return { channel: "webhook", url: step.content.url, body: await renderJson(step.content.body, data) };
  }
}

export const isInboxChannel = (channel: Channel): channel is "popup" | "chat" => channel === "popup" || channel === "chat";
