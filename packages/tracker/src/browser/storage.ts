/** The part of the Web Storage API we use; injectable so the logic runs in node tests. */
export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export interface KeyValueStore {
  get<T>(key: string): T | null;
  set(key: string, value: unknown): void;
  remove(key: string): void;
  /** False when the browser refused localStorage and we only remember this page. */
  persistent: boolean;
}

export function memoryStorage(): StorageLike {
  const map = new Map<string, string>();
  return {
    getItem: (k) => (map.has(k) ? (map.get(k) as string) : null),
    setItem: (k, v) => void map.set(k, v),
    removeItem: (k) => void map.delete(k),
  };
}

/**
 * JSON values under a prefix. localStorage can be missing, disabled (privacy modes, sandboxed
 * iframes) or full; then we fall back to memory rather than break the page.
 */
export function createStore(getBacking: () => StorageLike | null | undefined, prefix: string): KeyValueStore {
  let backing: StorageLike | null = null;
  try {
    const candidate = getBacking();
    if (candidate) {
      const probe = prefix + "probe";
      candidate.setItem(probe, "1");
      candidate.removeItem(probe);
      backing = candidate;
    }
  } catch {
    backing = null;
  }
  const persistent = backing !== null;
  const storage = backing ?? memoryStorage();
  return {
    persistent,
    get<T>(key: string): T | null {
      try {
        const raw = storage.getItem(prefix + key);
        return raw === null ? null : (JSON.parse(raw) as T);
      } catch {
        return null;
      }
    },
    set(key, value) {
      try {
        storage.setItem(prefix + key, JSON.stringify(value));
      } catch {
        // quota exceeded: the queue is trimmed on its own; losing one write beats throwing
      }
    },
    remove(key) {
      try {
        storage.removeItem(prefix + key);
      } catch {
        // ignore
      }
    },
  };
}
