import type { Properties, PropertyMeta, PropertyMetaEntry } from "./property-ops";

export interface EventStat {
  count: number;
  firstAt: Date;
  lastAt: Date;
}

const older = (a: PropertyMetaEntry, b: PropertyMetaEntry) => (a.at <= b.at ? a : b);
const newer = (a: PropertyMetaEntry, b: PropertyMetaEntry) => (a.at >= b.at ? a : b);
const fallbackMeta: PropertyMetaEntry = { at: "1970-01-01T00:00:00.000Z", op: "set" };

/**
 * Combines the properties of an anonymous card into a known one, by the meaning of the operation
 * that produced each value: set_once keeps the oldest, increments add up, lists union, sets take the newest.
 */
export function mergeProperties(
  target: { properties: Properties; meta: PropertyMeta },
  source: { properties: Properties; meta: PropertyMeta },
): { properties: Properties; meta: PropertyMeta } {
  const props = new Map(Object.entries(target.properties));
  const metas = new Map(Object.entries(target.meta));
  for (const [key, sourceValue] of Object.entries(source.properties)) {
    const sMeta = source.meta[key] ?? fallbackMeta;
    if (!props.has(key)) {
      props.set(key, sourceValue);
      metas.set(key, sMeta);
      continue;
    }
    const targetValue = props.get(key);
    const tMeta = metas.get(key) ?? fallbackMeta;
    if (tMeta.op === "once" || sMeta.op === "once") {
      const keep = older(tMeta, sMeta) === tMeta ? targetValue : sourceValue;
      props.set(key, keep);
      metas.set(key, { ...older(tMeta, sMeta), op: "once" });
    } else if (tMeta.op === "inc" && sMeta.op === "inc" && typeof targetValue === "number" && typeof sourceValue === "number") {
      props.set(key, targetValue + sourceValue);
      metas.set(key, { ...newer(tMeta, sMeta), op: "inc" });
    } else if (tMeta.op === "list" && sMeta.op === "list" && Array.isArray(targetValue) && Array.isArray(sourceValue)) {
      const seen = new Set(targetValue.map((v) => JSON.stringify(v)));
      props.set(key, [...targetValue, ...sourceValue.filter((v) => !seen.has(JSON.stringify(v)))]);
      metas.set(key, { ...newer(tMeta, sMeta), op: "list" });
    } else {
      const winner = newer(tMeta, sMeta);
      props.set(key, winner === tMeta ? targetValue : sourceValue);
      metas.set(key, winner);
    }
  }
  return { properties: Object.fromEntries(props), meta: Object.fromEntries(metas) };
}

export function mergeEventStats(a: EventStat, b: EventStat): EventStat {
  return {
    count: a.count + b.count,
    firstAt: a.firstAt <= b.firstAt ? a.firstAt : b.firstAt,
    lastAt: a.lastAt >= b.lastAt ? a.lastAt : b.lastAt,
  };
}
