import type { KeyValueStore } from "../storage";
import type { Identity } from "../tracker";
import { nextPollDelay, parseInbox, rememberId, safeLinkUrl, WAIT_AFTER_ACTIVITY_S, type PollResult, type WidgetAction, type WidgetMessage } from "./inbox";
import { createWidgetView, type WidgetView } from "./widget-view";

export interface WidgetDeps {
  host: string;
  writeKey: string;
  identity(): Identity;
  store: KeyValueStore;
  fetch: typeof fetch;
  doc: Document;
  navigate(url: string): void;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  warn(message: string): void;
}

export interface Widget {
  start(): void;
  /** Our events were just accepted: a campaign may answer them, look soon. */
  nudge(): void;
  /** The tab became visible, the network came back, or (`retry`) a fresh identity token arrived. */
  resume(retry: boolean): void;
  identityChanged(): void;
}

const DONE_KEY = "wdone";
const SHOWN_KEY = "wshown";
/** How long a button click waits for its report before leaving the page. */
const CLICK_REPORT_WAIT_MS = 400;

/**
 * Polls the visitor's inbox and renders what is pending. Polling (not SSE) because it passes every
 * proxy and CDN, costs the API no open connection per idle visitor, pauses with the tab, and can
 * send the identity token as a header (EventSource cannot). Right after the visitor's own events,
 * one poll waits on the API (`wait`), so a popup those events trigger appears as soon as it exists.
 */
export function createWidget(deps: WidgetDeps): Widget {
  const { host, writeKey, store, doc } = deps;
  let timer: unknown = null;
  let timerAt = Infinity;
  let delay: number | null = null;
  let polling = false;
  /** Our events were just accepted: the next poll waits on the API for what they trigger. */
  let eager = false;
  let stopped = false;
  let generation = 0;
  let view: WidgetView | null = null;

  const done = (): string[] => store.get<string[]>(DONE_KEY) ?? [];
  const markDone = (id: string): void => store.set(DONE_KEY, rememberId(store.get<string[]>(DONE_KEY), id));

  const headers = (who: Identity, extra?: Record<string, string>): Record<string, string> => {
    const out: Record<string, string> = { ...extra };
    if (who.userId && who.token) out["X-Nurture-Identity"] = who.token;
    return out;
  };

  const report = async (message: WidgetMessage, action: WidgetAction, text?: string): Promise<boolean> => {
    const who = deps.identity();
    const body: Record<string, string> = { writeKey, anonymousId: who.anonymousId };
    if (who.userId) body.userId = who.userId;
    if (text !== undefined) body.text = text;
    const url = `${host}/v1/widget/messages/${encodeURIComponent(message.id)}/${action}`;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const response = await deps.fetch(url, {
          method: "POST",
          body: JSON.stringify(body),
          headers: headers(who, { "Content-Type": "text/plain" }),
          credentials: "omit",
          keepalive: true,
        });
        if (response.ok) return true;
        if (response.status < 500 && response.status !== 429) return false;
      } catch {
        // network: retry below
      }
      await new Promise((resolve) => deps.setTimeout(() => resolve(undefined), 1000 * Math.pow(2, attempt)));
    }
    return false;
  };

  /** Runs a click handler without letting a failure surface as the page's error. */
  const guarded = (fn: () => void): void => {
    try {
      fn();
    } catch (error) {
      deps.warn(`nurture: widget action failed: ${String(error)}`);
    }
  };

  const handlers = {
    popupClicked: (message: WidgetMessage) => guarded(() => clicked(message)),
    popupClosed: (message: WidgetMessage) => guarded(() => closed(message)),
    chatReplied(message: WidgetMessage, text: string): Promise<boolean> {
      try {
        return report(message, "reply", text).then((ok) => {
          if (ok) markDone(message.id);
          return ok;
        });
      } catch {
        return Promise.resolve(false);
      }
    },
    chatClosed: (messages: WidgetMessage[]) => guarded(() => chatClosed(messages)),
  };

  function clicked(message: WidgetMessage): void {
    markDone(message.id);
    const url = safeLinkUrl(message.content.buttonUrl, doc.location ? doc.location.href : host);
    const sent = report(message, "clicked");
    if (!url) return void sent.then(() => nudge(), () => undefined);
    // leave once the click is recorded, or after a short wait (keepalive finishes it anyway)
    let left = false;
    const leave = (): void => {
      if (left) return;
      left = true;
      deps.navigate(url);
    };
    sent.then(leave, leave);
    deps.setTimeout(leave, CLICK_REPORT_WAIT_MS);
  }

  function closed(message: WidgetMessage): void {
    markDone(message.id);
    void report(message, "dismissed").then(() => nudge(), () => undefined);
  }

  function chatClosed(messages: WidgetMessage[]): void {
    for (const message of messages) {
      if (done().indexOf(message.id) !== -1) continue;
      markDone(message.id);
      void report(message, "dismissed");
    }
  }

  const render = (messages: WidgetMessage[]): boolean => {
    if (!doc.body) return false;
    if (!view) view = createWidgetView(doc, handlers);
    const handled = done();
    let rendered = false;
    for (const message of messages) {
      if (handled.indexOf(message.id) !== -1) continue;
      if (message.channel === "popup") {
        if (view.popupOpen()) continue; // one at a time; the next comes after this one is closed
        view.showPopup(message);
      } else {
        if (view.hasChat(message.id)) continue;
        view.showChat(message);
      }
      rendered = true;
      const shown = store.get<string[]>(SHOWN_KEY) ?? [];
      if (shown.indexOf(message.id) === -1) {
        store.set(SHOWN_KEY, rememberId(shown, message.id));
        void report(message, "shown");
      }
    }
    return rendered;
  };

  const arm = (ms: number): void => {
    if (stopped) return;
    const at = Date.now() + ms;
    if (timer !== null && timerAt <= at) return;
    if (timer !== null) deps.clearTimeout(timer);
    timerAt = at;
    timer = deps.setTimeout(() => {
      timer = null;
      timerAt = Infinity;
      poll().then(undefined, (error) => deps.warn(`nurture: widget poll failed: ${String(error)}`));
    }, ms);
  };

  async function poll(): Promise<void> {
    if (stopped || polling) return;
    if (doc.visibilityState === "hidden") return; // resumed by visibilitychange
    polling = true;
    const round = generation;
    const who = deps.identity();
    let result: PollResult = "error";
    try {
      const wait = eager ? `&wait=${WAIT_AFTER_ACTIVITY_S}` : "";
      eager = false;
      const query = `writeKey=${encodeURIComponent(writeKey)}&anonymousId=${encodeURIComponent(who.anonymousId)}` + (who.userId ? `&userId=${encodeURIComponent(who.userId)}` : "") + wait;
      const response = await deps.fetch(`${host}/v1/widget/messages?${query}`, { headers: headers(who), credentials: "omit" });
      if (round !== generation) return; // the visitor changed meanwhile: this answer is not theirs
      if (response.status === 401 || response.status === 403 || response.status === 404) {
        // unverified identity, wrong key or no widget API: asking again cannot help until identify
        stopped = true;
        deps.warn(`nurture: the widget inbox answered HTTP ${response.status}; polling stopped`);
        return;
      }
      if (response.ok) result = render(parseInbox(await response.json())) ? "messages" : "empty";
    } catch {
      result = "error";
    } finally {
      if (round === generation) polling = false;
    }
    if (round !== generation) return;
    delay = nextPollDelay(delay, result);
    // Activity during this poll: look again at once, waiting on the API.
    arm(eager ? 0 : delay);
  }

  function nudge(): void {
    delay = null;
    eager = true;
    arm(0);
  }

  return {
    start() {
      arm(0);
    },
    nudge,
    resume(retry) {
      if (retry) stopped = false; // a refused token may now be valid
      delay = null;
      arm(0);
    },
    identityChanged() {
      generation++;
      polling = false;
      stopped = false;
      if (view) view.clear();
      delay = null;
      if (timer !== null) deps.clearTimeout(timer);
      timer = null;
      timerAt = Infinity;
      arm(0);
    },
  };
}
