import { createDelivery, type DeliveryEnv } from "./delivery";
import { createEventQueue } from "./event-queue";
import { createStore } from "./storage";
import { createTracker, type PageInfo } from "./tracker";
import { uuid } from "./uuid";
import { createWidget, type Widget } from "./widget/widget";

declare const __NURTURE_VERSION__: string;

interface StubOptions {
  /** Send a page view when the script loads (default true). */
  autoPage?: boolean;
  /** Page views on history.pushState / popstate in single-page apps (default true). */
  spa?: boolean;
  /** Show popups and chat messages (default true). */
  widget?: boolean;
  /** How long events are gathered into one request (default 500 ms). */
  flushDelayMs?: number;
}

/** What the install snippet leaves on `window.nurture` before this file arrives. */
interface Stub {
  initialized?: boolean;
  writeKey?: string;
  host?: string;
  options?: StubOptions;
  q?: unknown;
  [method: string]: unknown;
}

const warn = (message: string): void => {
  try {
    if (typeof console !== "undefined" && console.warn) console.warn(message);
  } catch {
    // nothing left to do
  }
};

/** Public methods never throw into the page: a tracker bug must not break a checkout. */
function safe<A extends unknown[]>(name: string, fn: (...args: A) => unknown): (...args: A) => void {
  return (...args: A) => {
    try {
      const result = fn(...args);
      if (result && typeof (result as Promise<unknown>).then === "function") (result as Promise<unknown>).then(undefined, () => undefined);
    } catch (error) {
      warn(`nurture.${name} failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
}

function boot(): void {
  const win = window as unknown as { nurture?: Stub };
  const stub: Stub = win.nurture && typeof win.nurture === "object" ? win.nurture : {};
  if (stub.initialized) return;
  const script = document.currentScript as HTMLScriptElement | null;
  const writeKey = stub.writeKey || (script && script.getAttribute("data-write-key")) || "";
  let host = stub.host || (script && script.getAttribute("data-host")) || "";
  if (!host && script && script.src) host = new URL(script.src, location.href).origin;
  host = host.replace(/\/+$/, "");
  const options: StubOptions = stub.options && typeof stub.options === "object" ? stub.options : {};
  if (!writeKey || !host) {
    warn("nurture: no write key or host; see the install snippet");
    return;
  }

  const store = createStore(() => window.localStorage, "nurture.");
  const queue = createEventQueue(store);
  let widget: Widget | null = null;

  const env: DeliveryEnv = {
    fetch: (url, init) => window.fetch(url, init),
    sendBeacon: navigator.sendBeacon ? (url, body) => navigator.sendBeacon(url, body) : null,
    setTimeout: (fn, ms) => window.setTimeout(fn, ms),
    clearTimeout: (handle) => window.clearTimeout(handle as number),
    now: () => Date.now(),
    random: () => Math.random(),
    isOnline: () => navigator.onLine !== false,
    warn,
  };
  const delivery = createDelivery({
    url: `${host}/v1/batch`,
    writeKey,
    queue,
    env,
    flushDelayMs: typeof options.flushDelayMs === "number" && options.flushDelayMs >= 0 ? options.flushDelayMs : 500,
    onDelivered: () => widget && widget.nudge(),
  });

  let spaReferrer: string | null = null;
  const pageInfo = (): PageInfo => ({
    url: location.href,
    path: location.pathname,
    search: location.search,
    title: document.title,
    referrer: spaReferrer ?? document.referrer,
  });
  let timezone: string | undefined;
  try {
    timezone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch {
    timezone = undefined;
  }
  const device = {
    userAgent: navigator.userAgent,
    locale: navigator.language,
    timezone,
    screen: { width: screen.width, height: screen.height, density: window.devicePixelRatio || 1 },
  };

  const tracker = createTracker({
    store,
    queue,
    schedule: () => delivery.schedule(),
    page: pageInfo,
    device: () => device,
    newId: () => uuid(window.crypto),
    now: () => new Date(),
    warn,
    version: __NURTURE_VERSION__,
    onIdentityChange: () => widget && widget.identityChanged(),
    onTokenRefresh: () => widget && widget.resume(true),
  });

  const api: Stub = stub;
  const methods: Record<string, (...args: unknown[]) => void> = {
    identify: safe("identify", tracker.identify),
    track: safe("track", tracker.track),
    page: safe("page", tracker.page),
    props: safe("props", tracker.props),
    reset: safe("reset", tracker.reset),
    flush: safe("flush", () => delivery.flush()),
  };
  const pending = Array.isArray(stub.q) ? (stub.q as unknown[]) : [];
  for (const name of Object.keys(methods)) api[name] = methods[name];
  api.anonymousId = () => {
    try {
      return tracker.identity().anonymousId;
    } catch {
      return null;
    }
  };
  api.initialized = true;
  api.version = __NURTURE_VERSION__;
  // later pushes onto a saved reference of the stub's queue run directly
  api.q = { push: (entry: unknown) => replay(entry) };
  win.nurture = api;

  function replay(entry: unknown): void {
    if (!Array.isArray(entry) || typeof entry[0] !== "string") return;
    const method = methods[entry[0]];
    if (method) method(...(Array.isArray(entry[1]) ? entry[1] : entry.slice(1)));
  }

  safe("start", tracker.start)();
  let pagedByStub = false;
  for (const entry of pending) {
    if (Array.isArray(entry) && entry[0] === "page") pagedByStub = true;
    replay(entry);
  }
  if (options.autoPage !== false && !pagedByStub) methods.page!();

  if (options.spa !== false) {
    let lastUrl = location.pathname + location.search;
    let lastHref = location.href;
    const onNavigate = safe("navigation", () => {
      const current = location.pathname + location.search;
      if (current === lastUrl) return;
      spaReferrer = lastHref;
      lastUrl = current;
      lastHref = location.href;
      methods.page!();
    });
    for (const name of ["pushState", "replaceState"] as const) {
      const original = history[name];
      history[name] = function (this: History, ...args: Parameters<History["pushState"]>) {
        const result = original.apply(this, args);
        onNavigate();
        return result;
      };
    }
    window.addEventListener("popstate", onNavigate);
  }

  const leave = safe("flush", () => delivery.flushBeacon());
  window.addEventListener("pagehide", leave);
  document.addEventListener(
    "visibilitychange",
    safe("visibility", () => {
      if (document.visibilityState === "hidden") return leave();
      tracker.touch();
      if (widget) widget.resume(false);
    }),
  );
  window.addEventListener(
    "online",
    safe("online", () => {
      delivery.online();
      if (widget) widget.resume(false);
    }),
  );

  delivery.schedule(); // what earlier pages left in the queue
  if (options.widget !== false && typeof Element !== "undefined" && "attachShadow" in Element.prototype) {
    widget = createWidget({
      host,
      writeKey,
      identity: tracker.identity,
      store,
      fetch: (input, init) => window.fetch(input, init),
      doc: document,
      navigate: (url) => location.assign(url),
      setTimeout: (fn, ms) => window.setTimeout(fn, ms),
      clearTimeout: (handle) => window.clearTimeout(handle as number),
      warn,
    });
    const startWidget = safe("widget", () => widget && widget.start());
    if (document.body) startWidget();
    else document.addEventListener("DOMContentLoaded", startWidget);
  }
}

safe("boot", boot)();
