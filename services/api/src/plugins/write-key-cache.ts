/**
 * Write keys are looked up on every tracking request; a short-lived cache saves that round trip.
 * An entry serves for `ttlMs`, so a key rotated in another process stops working within that
 * time; keys the lookup does not find are not cached.
 *
 * A busy key is looked up again in the background from half its life on, while requests keep
 * using the entry, and a key nobody holds is looked up once however many requests wait for it.
 * Otherwise every request in flight when an entry expires queues for a database connection of its
 * own behind the ingestion transactions, and a burst of tracking calls stalls every few seconds.
 */
export interface KeyCache<T> {
  get(key: string): Promise<T | undefined>;
  /** Drops every entry (after a rotation in this process). */
  clear(): void;
}

interface Entry<T> {
  value: T | undefined;
  refreshAt: number;
  until: number;
  lookup?: Promise<T | undefined>;
}

export interface KeyCacheOptions<T> {
  lookup: (key: string) => Promise<T | undefined>;
  ttlMs: number;
  /** Told when a background refresh fails (no request is waiting for it to report the error). */
  onRefreshError?: (err: unknown) => void;
  now?: () => number;
  maxEntries?: number;
}

export function createKeyCache<T>(options: KeyCacheOptions<T>): KeyCache<T> {
  const { lookup, ttlMs, onRefreshError = () => {}, now = Date.now, maxEntries = 10_000 } = options;
  let entries = new Map<string, Entry<T>>();

  function start(key: string, stale: Entry<T> | undefined): Promise<T | undefined> {
    const owner = entries;
    const pending = lookup(key).then(
      (value) => {
        if (owner.get(key) !== entry) return value; // cleared meanwhile: a rotated key must not come back
        if (value === undefined) owner.delete(key);
        else {
          if (owner.size > maxEntries) owner.clear();
          const at = now();
          owner.set(key, { value, refreshAt: at + ttlMs / 2, until: at + ttlMs });
        }
        return value;
      },
      (err: unknown) => {
        if (owner.get(key) === entry) {
          if (stale) owner.set(key, { ...stale, lookup: undefined });
          else owner.delete(key);
        }
        throw err;
      },
    );
    const entry: Entry<T> = stale ? { ...stale, lookup: pending } : { value: undefined, refreshAt: 0, until: 0, lookup: pending };
    owner.set(key, entry);
    return pending;
  }

  return {
    get(key) {
      const at = now();
      const entry = entries.get(key);
      const valid = entry !== undefined && entry.value !== undefined && entry.until > at;
      if (valid && entry.refreshAt > at) return Promise.resolve(entry.value);
      if (entry?.lookup) return valid ? Promise.resolve(entry.value) : entry.lookup;
      if (!valid) return start(key, undefined);
      // The refresh's failure is not this request's: the entry serves until it expires, and the
      // first request after that looks the key up itself and answers for the error.
      start(key, entry).catch(onRefreshError);
      return Promise.resolve(entry.value);
    },
    clear() {
      entries = new Map();
    },
  };
}
