const MAX_DEPTH = 12;

/**
 * A JSON-ready copy of whatever the host page passed in: cycles, functions and symbols are dropped,
 * dates become ISO strings, non-finite numbers null. The page's objects must never make us throw.
 */
export function toJsonSafe(value: unknown, depth = 0, ancestors: object[] = []): unknown {
  if (value === null) return null;
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      return Number.isFinite(value) ? value : null;
    case "bigint":
      return value.toString();
    case "object":
      break;
    default:
      return undefined;
  }
  const obj = value as object;
  if (depth >= MAX_DEPTH || ancestors.indexOf(obj) !== -1) return undefined;
  if (obj instanceof Date) return isNaN(obj.getTime()) ? null : obj.toISOString();
  const path = ancestors.concat([obj]);
  if (Array.isArray(obj)) {
    return obj.map((item) => {
      const safe = toJsonSafe(item, depth + 1, path);
      return safe === undefined ? null : safe;
    });
  }
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(obj)) {
    if (key === "__proto__" || key === "constructor" || key === "prototype") continue;
    let item: unknown;
    try {
      item = (obj as Record<string, unknown>)[key];
    } catch {
      continue; // a throwing getter on the page's object
    }
    const safe = toJsonSafe(item, depth + 1, path);
    if (safe !== undefined) out[key] = safe;
  }
  return out;
}

/** Plain-object properties (or undefined when the page passed something else). */
export function toSafeProperties(value: unknown): Record<string, unknown> | undefined {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
  return toJsonSafe(value) as Record<string, unknown>;
}
