import { awardPoints, computeGrade, detectCrossings, utcDay, type ScoringEvent } from "@nurture/core";
import type { PipelineContext, Processor } from "../pipeline/pipeline.types";
import { getGradeModel } from "./grade-model.repository";
import { existingAwards, insertLedgerEntries, loadAwardHistory, markExpired, type LedgerEntry } from "./score-ledger.repository";
import { recomputeUserScores } from "./score-recompute";
import { forProjectConfig } from "../projects/project-config-cache";
import { activeRules, scoringRuleOf } from "./scoring-rules.repository";
import { scoringSettingsOf } from "./scoring-settings.repository";

/** Put on the target's timeline when two cards merge: the score is rebuilt from the joined history. */
const MERGED = "$users_merged";

/**
 * The pipeline's first step: scores the new events, takes back expired points, regrades the profile,
 * and writes score and grade onto the card (segments and triggers after it read them). Runs under the
 * user's row lock; the ledger's unique (rule, event) key backs that up, so a re-run adds nothing.
 */
export const scoringProcessor: Processor = async (ctx) => {
  const { trx, project, user, card, now } = ctx;
  const before = card.score;
  let score = before;
  const entries: LedgerEntry[] = [];
  const changes: { delta: number; score: number; ruleId: string | null; eventId: number | null; event: string | null; reason: string }[] = [];

  if (ctx.events.some((e) => e.name === MERGED)) {
    // The joined history may hold events the limits now see twice; rebuild from it, then go on.
    const rules = (await activeRules(trx, project.id)).map(scoringRuleOf);
    const { scores } = await recomputeUserScores(trx, project.id, [user.id], rules, now, { tickChanged: false });
    score = scores.get(user.id) ?? score;
    if (score !== before) changes.push({ delta: score - before, score, ruleId: null, eventId: null, event: MERGED, reason: "merged" });
  }

  const { due, next: nextStored } = ctx.expiries;
  for (const d of due) {
    score -= d.points;
    entries.push({ kind: "expiry", ruleId: d.ruleId, eventId: d.eventId, eventName: d.eventName, delta: -d.points, scoreAfter: score, effectiveAt: d.expiresAt, expiresAt: null, expiredAt: null });
  }
  await markExpired(trx, due.map((d) => d.id), now);

  score = await scoreEvents(ctx, entries, score);
  await insertLedgerEntries(trx, project.id, user.id, entries);
  for (const e of entries) {
    changes.push({ delta: e.delta, score: e.scoreAfter, ruleId: e.ruleId, eventId: e.eventId, event: e.eventName, reason: e.kind === "award" ? "event" : "expired" });
  }

  const model = await forProjectConfig("grade-model", project, () => getGradeModel(trx, project.id));
  const grade = computeGrade(model?.model ?? null, card.properties)?.grade ?? null;

  if (score !== card.score || grade !== card.grade) {
    ctx.updateCard({ score, grade });
    card.score = score;
    card.grade = grade;
  }
  for (const c of changes) {
    ctx.emit("$score_changed", { delta: c.delta, score: c.score, ruleId: c.ruleId, eventId: c.eventId === null ? null : String(c.eventId), event: c.event, reason: c.reason });
  }
  for (const crossing of detectCrossings(before, score, scoringSettingsOf(project).thresholds)) {
    ctx.emit("$score_crossed", { threshold: crossing.threshold, direction: crossing.direction, score });
  }
  // The score's next drop: the earliest of what was pending and what this run awarded.
  const times = [nextStored, ...entries.map((e) => (e.kind === "award" && e.expiredAt === null ? e.expiresAt : null))].filter((t): t is Date => t !== null);
  if (times.length > 0) ctx.scheduleAt(new Date(Math.min(...times.map((t) => t.getTime()))));
};

/** Appends the awards for this run's events to `entries`; returns the score after them. */
async function scoreEvents(ctx: PipelineContext, entries: LedgerEntry[], scoreBefore: number): Promise<number> {
  const { trx, project, user, events, now } = ctx;
  if (events.length === 0) return scoreBefore;
  const names = new Set(events.map((e) => e.name));
  const rules = (await forProjectConfig("scoring-rules", project, async () => (await activeRules(trx, project.id)).map(scoringRuleOf))).filter((r) => names.has(r.event));
  if (rules.length === 0) return scoreBefore;
  const scorable: ScoringEvent[] = events.map((e) => ({ id: e.id, name: e.name, properties: e.properties, occurredAt: e.occurred_at }));
  const history = await loadAwardHistory(trx, user.id, rules, [...new Set(scorable.map((e) => utcDay(e.occurredAt)))]);
  const already = await existingAwards(
    trx,
    rules.map((r) => r.id),
    scorable.map((e) => e.id),
  );
  let score = scoreBefore;
  for (const award of awardPoints(rules, scorable, history, already)) {
    score += award.points;
    const expired = award.expiresAt !== null && award.expiresAt <= now;
    entries.push({ kind: "award", ruleId: award.ruleId, eventId: award.eventId, eventName: award.eventName, delta: award.points, scoreAfter: score, effectiveAt: award.at, expiresAt: award.expiresAt, expiredAt: expired ? now : null });
    // An old event (imported history) whose points have already run out: on the ledger, not in the score.
    if (expired) {
      score -= award.points;
      entries.push({ kind: "expiry", ruleId: award.ruleId, eventId: award.eventId, eventName: award.eventName, delta: -award.points, scoreAfter: score, effectiveAt: award.expiresAt!, expiresAt: null, expiredAt: null });
    }
  }
  return score;
}
