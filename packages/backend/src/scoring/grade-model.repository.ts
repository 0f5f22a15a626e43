import type { GradeModel } from "@nurture/core";
import type { DbOrTrx } from "@nurture/db";

export async function getGradeModel(db: DbOrTrx, projectId: string): Promise<{ model: GradeModel; updatedAt: Date } | null> {
  const row = await db.selectFrom("grade_models").select(["model", "updated_at"]).where("project_id", "=", projectId).executeTakeFirst();
  return row ? { model: row.model as unknown as GradeModel, updatedAt: row.updated_at } : null;
}

export async function saveGradeModel(db: DbOrTrx, projectId: string, model: GradeModel, now: Date): Promise<void> {
  await db
    .insertInto("grade_models")
    .values({ project_id: projectId, model: JSON.stringify(model), updated_at: now })
    .onConflict((oc) => oc.column("project_id").doUpdateSet({ model: JSON.stringify(model), updated_at: now }))
    .execute();
}

export async function deleteGradeModel(db: DbOrTrx, projectId: string): Promise<boolean> {
  const result = await db.deleteFrom("grade_models").where("project_id", "=", projectId).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}
