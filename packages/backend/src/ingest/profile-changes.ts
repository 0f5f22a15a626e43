import { applyPropertyOps, traitsToOps, type PropertyMeta, type PropertyOp } from "@nurture/core";
import type { DB } from "@nurture/db";
import { sql, type Transaction } from "kysely";
import { AppError } from "../errors";
import type { IncomingEvent } from "./incoming-event";

/** Identify traits and property operations, applied only for messages stored now (a retry changes nothing). */
export async function applyProfileChanges(
  trx: Transaction<DB>,
  events: readonly IncomingEvent[],
  userIdPerEvent: number[],
  inserted: Set<number>,
): Promise<void> {
  const opsByUser = new Map<number, { ops: PropertyOp[]; at: Date }[]>();
  events.forEach((e, i) => {
    if (!inserted.has(i)) return;
    const ops = [...(e.traits ? traitsToOps(e.traits) : []), ...(e.ops ?? [])];
    if (ops.length === 0) return;
    const list = opsByUser.get(userIdPerEvent[i]!) ?? [];
    list.push({ ops, at: e.occurredAt });
    opsByUser.set(userIdPerEvent[i]!, list);
  });
  if (opsByUser.size === 0) return;
  const users = await trx
    .selectFrom("users")
    .select(["id", "properties", "property_meta"])
    .where("id", "in", [...opsByUser.keys()])
    .forUpdate()
    .execute();
  const updates: { id: number; properties: string; meta: string }[] = [];
  for (const user of users) {
    let state = { properties: user.properties, meta: user.property_meta as PropertyMeta };
    for (const [index, change] of (opsByUser.get(user.id) ?? []).entries()) {
      try {
        const next = applyPropertyOps(state.properties, state.meta, change.ops, change.at);
        state = { properties: next.properties, meta: next.meta };
      } catch (err) {
        if (err instanceof Error && err.name === "PropertyOpError") {
          throw new AppError("unprocessable", err.message, [{ path: `ops.${index}`, message: err.message }]);
        }
        throw err;
      }
    }
    updates.push({ id: user.id, properties: JSON.stringify(state.properties), meta: JSON.stringify(state.meta) });
  }
  await sql`
    UPDATE users SET properties = v.properties::jsonb, property_meta = v.meta::jsonb, updated_at = now()
    FROM unnest(${updates.map((u) => u.id)}::bigint[], ${updates.map((u) => u.properties)}::text[], ${updates.map((u) => u.meta)}::text[])
      AS v(id, properties, meta)
    WHERE users.id = v.id
  `.execute(trx);
}
