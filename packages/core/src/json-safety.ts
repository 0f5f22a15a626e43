/** Keys that would reach an object's prototype when assigned; traits carrying them are ignored. */
const UNSAFE_KEYS = new Set(["__proto__", "constructor", "prototype"]);

export function isSafeKey(key: string): boolean {
  return !UNSAFE_KEYS.has(key);
}

/** A deep copy without prototype-reaching keys; values are plain JSON afterwards. */
export function sanitizeJson(value: unknown, depth = 0): unknown {
  if (depth > 32) return null;
  if (Array.isArray(value)) return value.map((v) => sanitizeJson(v, depth + 1));
  if (value !== null && typeof value === "object") {
    if (value instanceof Date) return value.toISOString();
    return Object.fromEntries(
      Object.entries(value)
        .filter(([k]) => isSafeKey(k))
        .map(([k, v]) => [k, sanitizeJson(v, depth + 1)]),
    );
  }
  if (typeof value === "number" && !Number.isFinite(value)) return null;
  return value;
}
