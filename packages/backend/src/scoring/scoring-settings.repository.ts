import { readScoringSettings, type ScoringSettings } from "@nurture/core";
import type { DbOrTrx, ProjectRow } from "@nurture/db";
import { AppError } from "../errors";
import { getProject, updateProjectSettings } from "../projects/projects.repository";

/** The scoring section of projects.settings. */
export const SCORING_SETTINGS_SECTION = "scoring";

export const scoringSettingsOf = (project: Pick<ProjectRow, "settings">): ScoringSettings => readScoringSettings(project.settings[SCORING_SETTINGS_SECTION]);

export async function getScoringSettings(db: DbOrTrx, projectId: string): Promise<ScoringSettings> {
  const project = await getProject(db, projectId);
  if (!project) throw new AppError("not_found", "Project not found");
  return scoringSettingsOf(project);
}

export async function updateScoringSettings(db: DbOrTrx, projectId: string, patch: Partial<ScoringSettings>): Promise<ScoringSettings> {
  const current = await getScoringSettings(db, projectId);
  const next: ScoringSettings = { ...current, ...patch };
  const settings = await updateProjectSettings(db, projectId, SCORING_SETTINGS_SECTION, { thresholds: next.thresholds, interestBands: [...next.interestBands] });
  return readScoringSettings(settings[SCORING_SETTINGS_SECTION]);
}
