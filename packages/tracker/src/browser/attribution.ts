/** Where a visit came from; kept for the first visit as `first_*` properties on the card. */
export interface Touch {
  channel: string;
  landing_page: string;
  referrer?: string;
  referrer_domain?: string;
  utm_source?: string;
  utm_medium?: string;
  utm_campaign?: string;
  utm_term?: string;
  utm_content?: string;
  gclid?: string;
  fbclid?: string;
}

export interface PropertyOpMessage {
  op: "set" | "set_once" | "unset" | "increment" | "append" | "union" | "remove";
  key: string;
  value?: unknown;
}

const CLICK_IDS = ["gclid", "fbclid"] as const;
const UTM_KEYS = ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"] as const;
const SEARCH_ENGINES = /(^|\.)(google|bing|yahoo|duckduckgo|yandex|baidu|ecosia|qwant|naver|seznam|startpage)\./;
const SOCIAL = /(^|\.)(facebook|fb|instagram|twitter|x|t|linkedin|lnkd|reddit|pinterest|tiktok|youtube|vk|telegram|whatsapp|threads|mastodon)\.(com|co|me|org|social|ru|in)$/;
const PAID_MEDIUM = /^(cpc|ppc|cpm|cpv|cpa|paid|paidsearch|paid_search|paid-social|paid_social|display|banner|retargeting)$/;

function parseUrl(url: string): URL | null {
  try {
    return new URL(url);
  } catch {
    return null;
  }
}

function hostOf(url: URL): string {
  return url.hostname.toLowerCase().replace(/^www\./, "");
}

/** Marketing channel in the words marketers use, from UTM tags, click ids and the referrer. */
export function classifyChannel(touch: Omit<Touch, "channel">): string {
  const medium = (touch.utm_medium ?? "").toLowerCase();
  const domain = touch.referrer_domain ?? "";
  if (touch.gclid || touch.fbclid || PAID_MEDIUM.test(medium)) return "paid";
  if (medium === "email" || medium === "e-mail" || medium === "newsletter") return "email";
  if (medium === "social" || medium === "social-network" || (!medium && SOCIAL.test(domain))) return "social";
  if (medium === "affiliate" || medium === "partner") return "affiliate";
  if (medium === "referral") return "referral";
  if (medium || touch.utm_source || touch.utm_campaign) return "campaign";
  if (!domain) return "direct";
  if (SEARCH_ENGINES.test(domain)) return "organic_search";
  if (SOCIAL.test(domain)) return "social";
  return "referral";
}

/** Reads the landing URL and referrer of a visit; a referrer from the site itself is not a source. */
export function readTouch(pageUrl: string, referrer: string): Touch {
  const page = parseUrl(pageUrl);
  const ref = referrer ? parseUrl(referrer) : null;
  const touch: Omit<Touch, "channel"> = {
    landing_page: page ? page.origin + page.pathname : pageUrl.slice(0, 500),
  };
  if (page) {
    for (const key of [...UTM_KEYS, ...CLICK_IDS]) {
      const value = page.searchParams.get(key);
      if (value) touch[key] = value.slice(0, 200);
    }
  }
  if (ref && (ref.protocol === "http:" || ref.protocol === "https:") && (!page || hostOf(ref) !== hostOf(page))) {
    touch.referrer = (ref.origin + ref.pathname).slice(0, 500);
    touch.referrer_domain = hostOf(ref);
  }
  return { channel: classifyChannel(touch), ...touch };
}

/** `set_once` operations so the first source survives later visits and anonymous → known merges. */
export function firstTouchOps(touch: Touch): PropertyOpMessage[] {
  return Object.keys(touch)
    .filter((key) => touch[key as keyof Touch] !== undefined)
    .sort()
    .map((key) => ({ op: "set_once" as const, key: `first_${key}`, value: touch[key as keyof Touch] }));
}
