import { mergeProperties, type PropertyMeta } from "@nurture/core";
import type { DB } from "@nurture/db";
import { sql, type Transaction } from "kysely";

/**
 * Folds an anonymous card into a known one: its events, statistics, anonymous ids and properties
 * move over, and the known card gets a `$users_merged` timeline event that makes the pipeline
 * re-evaluate it (features recompute what they derived from the folded history).
 */
export async function mergeUsers(trx: Transaction<DB>, projectId: string, from: number, into: number): Promise<void> {
  const users = await trx
    .selectFrom("users")
    .select(["id", "properties", "property_meta", "first_seen_at", "last_seen_at"])
    .where("project_id", "=", projectId)
    .where("id", "in", [from, into])
    .forUpdate()
    .execute();
  const source = users.find((u) => u.id === from);
  const target = users.find((u) => u.id === into);
  if (!source || !target) return;

  const merged = mergeProperties(
    { properties: target.properties, meta: target.property_meta as PropertyMeta },
    { properties: source.properties, meta: source.property_meta as PropertyMeta },
  );
  await trx.updateTable("events").set({ user_id: into }).where("user_id", "=", from).execute();
  await sql`
    INSERT INTO event_stats AS s (project_id, user_id, event_name, count, first_at, last_at)
    SELECT project_id, ${into}::bigint, event_name, count, first_at, last_at FROM event_stats WHERE user_id = ${from}
    ON CONFLICT (user_id, event_name) DO UPDATE SET
      count = s.count + excluded.count,
      first_at = least(s.first_at, excluded.first_at),
      last_at = greatest(s.last_at, excluded.last_at)
  `.execute(trx);
  await trx.updateTable("anonymous_ids").set({ user_id: into }).where("user_id", "=", from).execute();
  await trx
    .updateTable("users")
    .set({
      properties: JSON.stringify(merged.properties),
      property_meta: JSON.stringify(merged.meta),
      first_seen_at: source.first_seen_at < target.first_seen_at ? source.first_seen_at : target.first_seen_at,
      last_seen_at: source.last_seen_at > target.last_seen_at ? source.last_seen_at : target.last_seen_at,
      updated_at: new Date(),
    })
    .where("id", "=", into)
    .execute();
  await trx
    .insertInto("events")
    .values({
      project_id: projectId,
      user_id: into,
      message_id: `$merge:${from}:${into}`,
      type: "system",
      name: "$users_merged",
      properties: JSON.stringify({ mergedUserId: String(from) }),
      occurred_at: new Date(),
    })
    .onConflict((oc) => oc.doNothing())
    .execute();
  await trx.deleteFrom("users").where("id", "=", from).execute();
}
