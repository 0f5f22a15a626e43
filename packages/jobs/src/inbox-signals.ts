/**
 * "This visitor's inbox has something new": published by whoever puts a popup or chat message in
 * an inbox, after commit, so widget requests waiting in any API process answer at once. A signal
 * is only a hint — the database decides what the inbox holds, and a waiting request looks again
 * on its own from time to time, so a signal lost with Redis delays a popup, never loses it.
 */
export const inboxSignalChannel = (prefix: string): string => `${prefix}:inbox`;

export const inboxSignalKey = (projectId: string, userId: number): string => `${projectId}:${userId}`;

/**
 * A signal's text: the key, and after a line break the messages just put in the inbox, as the
 * widget shows them, when the sender has them at hand: a waiting request answers with those
 * instead of reading the inbox again.
 */
export const inboxSignal = (key: string, messages?: readonly unknown[]): string => (messages?.length ? `${key}\n${JSON.stringify(messages)}` : key);

export function parseInboxSignal(text: string): { key: string; messages: unknown[] | undefined } {
  const at = text.indexOf("\n");
  if (at < 0) return { key: text, messages: undefined };
  try {
    const messages: unknown = JSON.parse(text.slice(at + 1));
    return { key: text.slice(0, at), messages: Array.isArray(messages) && messages.length > 0 ? messages : undefined };
  } catch {
    return { key: text.slice(0, at), messages: undefined };
  }
}
