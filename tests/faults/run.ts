// `npm run test:faults`: fault-injection scenarios against PostgreSQL, Redis, SMTP and Nurture
// processes the suite starts itself. One JSON line per scenario; exits non-zero when a "must" breaks.
import { postgresStoppedUnderLoad, redisRestartedUnderLoad, retryStorm } from "./ingestion.faults";
import { capsUnderConcurrency, unsubscribeRace } from "./messaging-rules.faults";
import { smtpAcceptanceLost, smtpTemporaryAndPermanentErrors } from "./smtp.faults";
import { gracefulShutdown, workerKilledMidSend } from "./worker-lifecycle.faults";
import type { Scenario, ScenarioResult } from "./fault-kit";

const scenarios: Record<string, Scenario> = {
  "redis-restarted-under-load": redisRestartedUnderLoad,
  "postgres-stopped-under-load": postgresStoppedUnderLoad,
  "retry-storm": retryStorm,
  "worker-killed-mid-send": workerKilledMidSend,
  "smtp-acceptance-lost": smtpAcceptanceLost,
  "smtp-temporary-and-permanent-errors": smtpTemporaryAndPermanentErrors,
  "caps-under-concurrency": capsUnderConcurrency,
  "unsubscribe-race": unsubscribeRace,
  "graceful-shutdown": gracefulShutdown,
};

const SCENARIO_TIMEOUT_MS = 180_000;
const wanted = process.argv.slice(2);
let passed = 0;
let failed = 0;
for (const [name, scenario] of Object.entries(scenarios)) {
  if (wanted.length > 0 && !wanted.some((w) => name.includes(w))) continue;
  const started = Date.now();
  let outcome: ScenarioResult;
  try {
    outcome = await Promise.race([
      scenario(),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`timed out after ${SCENARIO_TIMEOUT_MS} ms`)), SCENARIO_TIMEOUT_MS).unref()),
    ]);
  } catch (err) {
    outcome = { scenario: name, ok: false, musts: { "ran to the end": false }, figures: { error: err instanceof Error ? err.message : String(err) } };
  }
  console.log(JSON.stringify({ ...outcome, seconds: Math.round((Date.now() - started) / 1000) }));
  if (outcome.ok) passed++;
  else failed++;
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
