export interface SnippetOptions {
  writeKey: string;
  /** Where the Nurture API is reachable from visitors' browsers, e.g. https://nurture.example.com */
  host: string;
  /** Passed to the tracker: autoPage, spa, widget, flushDelayMs. */
  options?: Record<string, unknown>;
}

const STUB_METHODS = ["identify", "track", "page", "props", "reset", "flush"];

/**
 * The copy-paste install snippet: a tiny stub that queues calls made before `/tracker.js` arrives
 * (they are replayed in order), then loads the tracker asynchronously so it never blocks the page.
 */
export function trackerSnippet({ writeKey, host, options }: SnippetOptions): string {
  const base = host.replace(/\/+$/, "");
  const args = [JSON.stringify(writeKey), JSON.stringify(base), options ? JSON.stringify(options) : "{}"]
    // a value containing "</script>" must not end the snippet's <script> element
    .map((a) => a.replace(/</g, "\\u003c"))
    .join(",");
  return [
    "<script>",
    `!function(w,d,k,h,o){var n=w.nurture=w.nurture||{};if(n.initialized)return;n.q=n.q||[];n.writeKey=k;n.host=h;n.options=o;` +
      `${JSON.stringify(STUB_METHODS)}.forEach(function(m){n[m]=n[m]||function(){n.q.push([m,[].slice.call(arguments)])}});` +
      `var s=d.createElement("script");s.async=!0;s.src=h+"/tracker.js";(d.head||d.documentElement).appendChild(s)}(window,document,${args});`,
    "</script>",
  ].join("\n");
}

/** The snippet as shown in the README and on /docs, with placeholders to replace. */
export const TRACKER_SNIPPET_TEMPLATE = trackerSnippet({ writeKey: "YOUR_WRITE_KEY", host: "https://nurture.example.com" });
