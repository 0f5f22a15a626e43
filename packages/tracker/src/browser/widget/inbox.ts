/** A pending popup or chat message from `GET /v1/widget/messages`. */
export interface WidgetMessage {
  id: string;
  channel: "popup" | "chat";
  content: {
    title?: string;
    body?: string;
    buttonLabel?: string;
    buttonUrl?: string;
    text?: string;
    senderName?: string;
  };
  createdAt: string;
}

export type WidgetAction = "shown" | "clicked" | "dismissed" | "reply";

const TEXT_FIELDS = ["title", "body", "buttonLabel", "buttonUrl", "text", "senderName"] as const;

/** The API's answer, checked field by field: anything odd is dropped rather than rendered. */
export function parseInbox(json: unknown): WidgetMessage[] {
  const list = json !== null && typeof json === "object" ? (json as { messages?: unknown }).messages : null;
  if (!Array.isArray(list)) return [];
  const out: WidgetMessage[] = [];
  for (const raw of list) {
    if (raw === null || typeof raw !== "object") continue;
    const { id, channel, content, createdAt } = raw as Record<string, unknown>;
    if ((typeof id !== "string" && typeof id !== "number") || (channel !== "popup" && channel !== "chat")) continue;
    const fields: WidgetMessage["content"] = {};
    if (content !== null && typeof content === "object") {
      for (const key of TEXT_FIELDS) {
        const value = (content as Record<string, unknown>)[key];
        if (typeof value === "string" && value) fields[key] = value.slice(0, 10_000);
      }
    }
    out.push({ id: String(id), channel, content: fields, createdAt: typeof createdAt === "string" ? createdAt : "" });
  }
  return out.sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0));
}

/** A popup button may only lead to a web page: `javascript:` and `data:` links are refused. */
export function safeLinkUrl(url: string | undefined, base: string): string | null {
  if (!url) return null;
  try {
    const parsed = new URL(url, base);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
  } catch {
    return null;
  }
}

export const POLL_MIN_MS = 2000;
export const POLL_MAX_MS = 60_000;
export const POLL_ERROR_MAX_MS = 5 * 60_000;
/**
 * After our own events were accepted, look at once and let the API hold the request this many
 * seconds: a popup they trigger shows the moment it is in the inbox, and only an active visitor
 * keeps a request open.
 */
export const WAIT_AFTER_ACTIVITY_S = 5;

export type PollResult = "messages" | "empty" | "error";

/**
 * Polling interval: quick while something is happening, doubling while the inbox stays empty
 * (a visitor reading a page for ten minutes costs ~12 requests), slower still while the API fails.
 */
export function nextPollDelay(previousMs: number | null, result: PollResult): number {
  if (result === "messages") return POLL_MIN_MS;
  const prev = previousMs ?? POLL_MIN_MS / 2;
  if (result === "empty") return Math.min(POLL_MAX_MS, Math.max(POLL_MIN_MS, prev * 2));
  return Math.min(POLL_ERROR_MAX_MS, Math.max(5000, prev * 2));
}

/** Ids the visitor already acted on (or saw, for "shown"), newest kept when the list is full. */
export function rememberId(list: string[] | null, id: string, max = 200): string[] {
  const current = Array.isArray(list) ? list.filter((x) => x !== id) : [];
  current.push(id);
  return current.length > max ? current.slice(current.length - max) : current;
}
