import { firstTouchOps, readTouch, type PropertyOpMessage, type Touch } from "./attribution";
import type { EventQueue } from "./event-queue";
import { toSafeProperties } from "./json-safe";
import { normalizeOps, type OutgoingMessage } from "./messages";
import { touchSession, type SessionState } from "./session";
import type { KeyValueStore } from "./storage";

export const LIBRARY_NAME = "nurture.js";

export interface PageInfo {
  url: string;
  path: string;
  search: string;
  title: string;
  referrer: string;
}

export interface Identity {
  anonymousId: string;
  userId: string | null;
  /** The identity-verification JWT the site passed to identify, for widget calls. */
  token: string | null;
}

export interface TrackerDeps {
  store: KeyValueStore;
  queue: EventQueue;
  /** Asks the delivery to send soon. */
  schedule(): void;
  page(): PageInfo;
  /** userAgent, locale, timezone, screen… (Segment's context fields). */
  device(): Record<string, unknown>;
  newId(): string;
  now(): Date;
  warn(message: string): void;
  version: string;
  /** The visitor became someone else (identify with another user id, reset). */
  onIdentityChange(identity: Identity): void;
  /** The same user got a fresh identity token (e.g. the previous one expired). */
  onTokenRefresh(identity: Identity): void;
}

export interface Tracker {
  start(): void;
  page(name?: unknown, properties?: unknown): void;
  track(event: unknown, properties?: unknown): void;
  identify(userId?: unknown, traits?: unknown, options?: unknown): void;
  props(ops: unknown): void;
  reset(): void;
  /** Activity without an event (the tab became visible): may start a new session. */
  touch(): void;
  identity(): Identity;
}

const KEYS = { anonymousId: "aid", userId: "uid", token: "itok", session: "session", touch: "touch" };

type MessageBody = Pick<OutgoingMessage, "type"> & Partial<Pick<OutgoingMessage, "event" | "name" | "properties" | "traits" | "ops">>;

/**
 * The tracker's behaviour (identity, sessions, attribution, message shapes), written against
 * injected browser facilities. Public methods are wrapped by the caller so nothing reaches the page.
 */
export function createTracker(deps: TrackerDeps): Tracker {
  const { store } = deps;

  const anonymousId = (): string => {
    const current = store.get<string>(KEYS.anonymousId);
    if (typeof current === "string" && current) return current;
    const fresh = deps.newId();
    store.set(KEYS.anonymousId, fresh);
    return fresh;
  };
  const storedString = (key: string): string | null => {
    const value = store.get<string>(key);
    return typeof value === "string" && value ? value : null;
  };
  const identity = (): Identity => ({ anonymousId: anonymousId(), userId: storedString(KEYS.userId), token: storedString(KEYS.token) });

  const build = (body: MessageBody, extraContext?: Record<string, unknown>): OutgoingMessage => {
    const who = identity();
    const session = store.get<SessionState>(KEYS.session);
    const context: Record<string, unknown> = {
      library: { name: LIBRARY_NAME, version: deps.version },
      page: deps.page(),
      ...deps.device(),
      ...(session ? { sessionId: session.id } : {}),
      ...extraContext,
    };
    const message: OutgoingMessage = {
      ...body,
      type: body.type,
      messageId: deps.newId(),
      anonymousId: who.anonymousId,
      context,
      timestamp: deps.now().toISOString(),
    };
    if (who.userId) message.userId = who.userId;
    return message;
  };

  const push = (message: OutgoingMessage): void => {
    if (!deps.queue.push(message)) deps.warn(`nurture: a ${message.type} message over 32 KB was dropped`);
  };

  /** Every event is activity; the first after 30 idle minutes is preceded by `$session_start`. */
  const activity = (): void => {
    const now = deps.now();
    const { state, started } = touchSession(store.get<SessionState>(KEYS.session), now.getTime(), deps.newId);
    store.set(KEYS.session, state);
    if (started) {
      const page = deps.page();
      const source = readTouch(page.url, page.referrer);
      push(build({ type: "track", event: "$session_start", properties: { session_id: state.id, ...source } }));
    }
  };

  const enqueue = (body: MessageBody, extraContext?: Record<string, unknown>): void => {
    activity();
    push(build(body, extraContext));
    deps.schedule();
  };

  const firstTouch = (): Touch | null => store.get<Touch>(KEYS.touch);

  const forgetVisitor = (): void => {
    store.remove(KEYS.userId);
    store.remove(KEYS.token);
    store.remove(KEYS.session);
    store.set(KEYS.anonymousId, deps.newId());
  };

  return {
    start() {
      if (firstTouch()) return;
      const page = deps.page();
      const touch = readTouch(page.url, page.referrer);
      store.set(KEYS.touch, touch);
      // the first visit's source, on the anonymous card; set_once so nothing later overwrites it
      enqueue({ type: "identify", ops: firstTouchOps(touch) });
    },

    page(name, properties) {
      const custom = toSafeProperties(typeof name === "object" ? name : properties) ?? {};
      const page = deps.page();
      const body: MessageBody = { type: "page", properties: { ...page, ...custom } };
      if (typeof name === "string" && name) body.name = name;
      enqueue(body);
    },

    track(event, properties) {
      if (typeof event !== "string" || !event.trim()) {
        deps.warn("nurture.track: the event name must be a non-empty string");
        return;
      }
      enqueue({ type: "track", event: event.slice(0, 200), properties: toSafeProperties(properties) ?? {} });
    },

    identify(userIdArg, traitsArg, optionsArg) {
      let userArg = userIdArg;
      let traitsIn = traitsArg;
      let optionsIn = optionsArg;
      if (userArg !== null && typeof userArg === "object") {
        // identify(traits, options): traits of the current (possibly anonymous) visitor
        optionsIn = traitsArg;
        traitsIn = userArg;
        userArg = undefined;
      }
      let userId: string | null = null;
      if (typeof userArg === "string" || typeof userArg === "number") userId = String(userArg).trim().slice(0, 200) || null;
      else if (userArg !== undefined && userArg !== null) {
        deps.warn("nurture.identify: the user id must be a string");
        return;
      }
      const token =
        optionsIn !== null && typeof optionsIn === "object" && typeof (optionsIn as { token?: unknown }).token === "string"
          ? (optionsIn as { token: string }).token
          : null;

      const previous = storedString(KEYS.userId);
      const previousToken = storedString(KEYS.token);
      const switched = userId !== null && previous !== null && previous !== userId;
      // a different person on this browser must not inherit the previous one's anonymous history
      if (switched) forgetVisitor();
      const newlyKnown = userId !== null && previous !== userId;
      if (userId !== null) store.set(KEYS.userId, userId);
      if (token) store.set(KEYS.token, token);
      else if (newlyKnown) store.remove(KEYS.token);

      const body: MessageBody = { type: "identify", traits: toSafeProperties(traitsIn) ?? {} };
      const touch = firstTouch();
      const ops: PropertyOpMessage[] = newlyKnown && touch ? firstTouchOps(touch) : [];
      if (ops.length) body.ops = ops;
      enqueue(body, token ? { identityToken: token } : undefined);
      if (newlyKnown) deps.onIdentityChange(identity());
      else if (token && token !== previousToken) deps.onTokenRefresh(identity());
    },

    props(input) {
      const ops = normalizeOps(input);
      if (ops.length === 0) {
        deps.warn("nurture.props: expected [{op, key, value}] or an object of properties");
        return;
      }
      enqueue({ type: "identify", ops });
    },

    reset() {
      forgetVisitor();
      deps.onIdentityChange(identity());
    },

    touch() {
      const before = store.get<SessionState>(KEYS.session);
      activity();
      const after = store.get<SessionState>(KEYS.session);
      if (!before || !after || before.id !== after.id) deps.schedule();
    },

    identity,
  };
}
