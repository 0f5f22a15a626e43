/** Keys that would reach an object's prototype when assigned; traits carrying them are ignored. */
const UNSAFE_KEYS = new Set(["__proto__", "constructor", "prototype"]);

export function isSafeKey(key: string): boolean {
  return !UNSAFE_KEYS.has(key);
}

/** Deeper values become null. */
const MAX_DEPTH = 32;

/** A deep copy without prototype-reaching keys; values are plain JSON afterwards. */
export function sanitizeJson(value: unknown, depth = 0): unknown {
  if (depth > MAX_DEPTH) return null;
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

/** True when sanitizeJson would return a value equal to this one (so no copy is needed). */
function isClean(value: unknown, depth: number): boolean {
  if (depth > MAX_DEPTH) return false;
  if (typeof value === "number") return Number.isFinite(value);
  if (value === null || typeof value !== "object") return true;
  if (Array.isArray(value)) {
    for (const item of value) if (!isClean(item, depth + 1)) return false;
    return true;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return false;
  for (const key in value) {
    if (!Object.hasOwn(value, key) || !isSafeKey(key) || !isClean((value as Record<string, unknown>)[key], depth + 1)) return false;
  }
  return true;
}

/**
 * sanitizeJson for a value that was just parsed (a request body): such a value is almost always
 * clean already, and checking costs a fraction of copying it, so a clean one is returned as is.
 */
export function cleanJson(value: unknown): unknown {
  return isClean(value, 0) ? value : sanitizeJson(value);
}
