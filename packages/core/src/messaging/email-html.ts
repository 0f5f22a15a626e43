const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', "#39": "'", apos: "'", nbsp: " " };

const decode = (s: string) => s.replace(/&(amp|lt|gt|quot|#39|apos|nbsp);/g, (_, e: string) => ENTITIES[e]!);
const encodeAttr = (s: string) => s.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/**
 * Points every http(s) link of an email body at the click tracker; other links (mailto:, the
 * unsubscribe link, anchors) stay as written. `track` returns the tracked URL for a target URL.
 */
export function rewriteLinks(html: string, track: (url: string) => string | null): string {
  return html.replace(/(<a\b[^>]*?\shref\s*=\s*)(["'])(.*?)\2/gis, (whole, prefix: string, quote: string, raw: string) => {
    const url = decode(raw.trim());
    if (!/^https?:\/\//i.test(url)) return whole;
    const tracked = track(url);
    return tracked === null ? whole : `${prefix}${quote}${encodeAttr(tracked)}${quote}`;
  });
}

/** Adds the open-tracking pixel at the end of the body (inside </body> when there is one). */
export function appendOpenPixel(html: string, pixelUrl: string): string {
  const img = `<img src="${encodeAttr(pixelUrl)}" width="1" height="1" alt="" style="display:none;border:0" />`;
  const at = html.search(/<\/body\s*>/i);
  return at === -1 ? `${html}${img}` : `${html.slice(0, at)}${img}${html.slice(at)}`;
}

/** A readable plain-text part from HTML: links keep their target, tags go, entities decode. */
export function htmlToText(html: string): string {
  return decode(
    html
      .replace(/<(script|style|head)\b[\s\S]*?<\/\1>/gi, "")
      .replace(/<a\b[^>]*?\shref\s*=\s*(["'])(.*?)\1[^>]*>([\s\S]*?)<\/a>/gi, (_, _q, href: string, label: string) => {
        const text = label.replace(/<[^>]+>/g, "").trim();
        return text && text !== href ? `${text} (${href})` : href;
      })
      .replace(/<br\s*\/?>/gi, "\n")
      .replace(/<\/(p|div|h[1-6]|li|tr|table)>/gi, "\n")
      .replace(/<[^>]+>/g, ""),
  )
    .replace(/[ \t]+/g, " ")
    .replace(/ *\n */g, "\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}
