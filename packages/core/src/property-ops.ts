import { z } from "zod";
import { isSafeKey } from "./json-safety";

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type Properties = Record<string, unknown>;

/** How a property got its value; decides how two cards' values combine when they merge. */
export type PropertyOrigin = "set" | "once" | "inc" | "list";
export interface PropertyMetaEntry {
  /** ISO time the value was first (for "once") or last written. */
  at: string;
  op: PropertyOrigin;
}
export type PropertyMeta = Record<string, PropertyMetaEntry>;

const propertyKey = z
  .string()
  .min(1)
  .max(200)
  .refine(isSafeKey, "is a reserved name");

export const propertyOpSchema = z.discriminatedUnion("op", [
  z.object({ op: z.literal("set"), key: propertyKey, value: z.json() }),
  z.object({ op: z.literal("set_once"), key: propertyKey, value: z.json() }),
  z.object({ op: z.literal("unset"), key: propertyKey }),
  z.object({ op: z.literal("increment"), key: propertyKey, value: z.number().finite() }),
  z.object({ op: z.literal("append"), key: propertyKey, value: z.json() }),
  z.object({ op: z.literal("union"), key: propertyKey, value: z.json() }),
  z.object({ op: z.literal("remove"), key: propertyKey, value: z.json() }),
]);
export type PropertyOp = z.infer<typeof propertyOpSchema>;

export class PropertyOpError extends Error {
  constructor(
    readonly index: number,
    readonly key: string,
    message: string,
  ) {
    super(message);
    this.name = "PropertyOpError";
  }
}

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : [v]);

/**
 * Applies operations in order to a copy of the properties. Either every operation applies or a
 * PropertyOpError names the first that cannot (e.g. incrementing text), and nothing changes.
 */
export function applyPropertyOps(
  properties: Properties,
  meta: PropertyMeta,
  ops: readonly PropertyOp[],
  at: Date,
): { properties: Properties; meta: PropertyMeta; changed: boolean } {
  const props = new Map(Object.entries(properties));
  const metas = new Map(Object.entries(meta));
  const stamp = at.toISOString();
  ops.forEach((op, index) => {
    const current = props.get(op.key);
    switch (op.op) {
      case "set":
        props.set(op.key, op.value);
        metas.set(op.key, { at: stamp, op: "set" });
        break;
      case "set_once":
        if (current === undefined) {
          props.set(op.key, op.value);
          metas.set(op.key, { at: stamp, op: "once" });
        }
        break;
      case "unset":
        props.delete(op.key);
        metas.delete(op.key);
        break;
      case "increment": {
        if (current !== undefined && typeof current !== "number") {
          throw new PropertyOpError(index, op.key, `cannot increment "${op.key}": it holds ${typeof current}, not a number`);
        }
        props.set(op.key, (current ?? 0) + op.value);
        metas.set(op.key, { at: stamp, op: "inc" });
        break;
      }
      case "append":
      case "union":
      case "remove": {
        const list = current === undefined ? [] : asList(current);
        const values = asList(op.value);
        let next: unknown[];
        if (op.op === "append") next = [...list, ...values];
        else if (op.op === "union") next = [...list, ...values.filter((v, i) => !list.some((x) => sameJson(x, v)) && values.findIndex((y) => sameJson(y, v)) === i)];
        else next = list.filter((x) => !values.some((v) => sameJson(x, v)));
        props.set(op.key, next);
        metas.set(op.key, { at: stamp, op: "list" });
        break;
      }
    }
  });
  const next = Object.fromEntries(props);
  return { properties: next, meta: Object.fromEntries(metas), changed: !sameJson(next, properties) };
}

/** Identify traits are plain "set" operations, in key order. */
export function traitsToOps(traits: Properties): PropertyOp[] {
  return Object.entries(traits)
    .filter(([k]) => isSafeKey(k) && k.length > 0 && k.length <= 200)
    .map(([key, value]) => ({ op: "set" as const, key, value: (value === undefined ? null : value) as JsonValue }));
}
