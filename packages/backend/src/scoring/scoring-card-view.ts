import { customerClass, interestBand } from "@nurture/core";
import type { DbOrTrx, UserRow } from "@nurture/db";
import { nextPendingExpiry, scoreHistory } from "./score-ledger.repository";
import { scoringSettingsOf } from "./scoring-settings.repository";

const RECENT_HISTORY = 10;

/** The card's "scoring" section: score, interest band, grade, class ("A1"), value class, recent history. */
export async function scoringCardSection(db: DbOrTrx, user: UserRow): Promise<Record<string, unknown>> {
  const [project, history, nextExpiryAt] = await Promise.all([
    db.selectFrom("projects").select("settings").where("id", "=", user.project_id).executeTakeFirst(),
    scoreHistory(db, user.id, { limit: RECENT_HISTORY }),
    nextPendingExpiry(db, user.id),
  ]);
  const band = interestBand(user.score, scoringSettingsOf(project ?? { settings: {} }).interestBands);
  return {
    scoring: {
      score: user.score,
      interestBand: band,
      grade: user.grade,
      class: customerClass(user.grade, band),
      valueClass: user.value_class,
      nextExpiryAt,
      history: history.items,
    },
  };
}
