/**
 * "This visitor's inbox has something new": published by whoever puts a popup or chat message in
 * an inbox, after commit, so widget requests waiting in any API process answer at once. A signal
 * is only a hint — the database decides what the inbox holds, and a waiting request looks again
 * on its own from time to time, so a signal lost with Redis delays a popup, never loses it.
 */
export const inboxSignalChannel = (prefix: string): string => `${prefix}:inbox`;

export const inboxSignalKey = (projectId: string, userId: number): string => `${projectId}:${userId}`;
