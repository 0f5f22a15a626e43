import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createRequire } from "node:module";
import autocannon from "autocannon";
import { createProject, type CreatedProject } from "@nurture/backend";
import { createTestDatabase, type TestDatabase } from "@nurture/db/testing";
import { alternate, BENCH_REDIS_URL, line, startServerProcess, type BenchLine } from "./bench-kit";

const QUIET_RATE = 80;
const LIMIT = { perSecond: 100, burst: 200 };
const NOISY_CONNECTIONS = 16;
const SECONDS = 3;
const ROUNDS = 3;

const basic = (p: CreatedProject) => `Basic ${Buffer.from(`${p.writeKey}:`).toString("base64")}`;

/** The quiet project's p99 at a fixed rate well inside its limit. */
async function quietP99(url: string, project: CreatedProject): Promise<number> {
  let n = 0;
  const result = await autocannon({
    url,
    connections: 10,
    pipelining: 1,
    overallRate: QUIET_RATE,
    duration: SECONDS,
    requests: [
      {
        method: "POST",
        path: "/v1/track",
        headers: { "content-type": "application/json", authorization: basic(project) },
        setupRequest: (req) => ({ ...req, body: JSON.stringify({ anonymousId: `quiet-${n % 200}`, event: "product_viewed", messageId: `q-${randomUUID()}-${n++}`, properties: { sku: "SKU-1", price: 12.5 } }) }),
      },
    ],
  });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`quiet project got ${result.non2xx} non-2xx answers and ${result.errors} errors`);
  return result.latency.p99;
}

interface NoisyResult {
  requests: number;
  accepted: number;
  limited: number;
}

/** Runs in a child process: autocannon as fast as the connections go, a unique messageId per request. */
const NOISY_CLIENT = `
const autocannon = require(process.env.AUTOCANNON);
let n = 0;
autocannon({
  url: process.env.URL, connections: Number(process.env.CONNECTIONS), pipelining: 1, duration: Number(process.env.SECONDS),
  requests: [{ method: "POST", path: "/v1/track", headers: { "content-type": "application/json", authorization: process.env.AUTH },
    setupRequest: (req) => ({ ...req, body: JSON.stringify({ anonymousId: "noisy-" + (n % 1000), event: "spam", messageId: "n-" + process.pid + "-" + n++, properties: { junk: "x".repeat(200) } }) }) }],
}).then((r) => console.log(JSON.stringify({ requests: r.requests.total, accepted: r["2xx"], limited: (r.statusCodeStats["429"] || { count: 0 }).count })));
`;

/** The noisy project, from its own process so its client work does not slow the quiet client. */
function startNoisy(url: string, project: CreatedProject): Promise<NoisyResult> {
  const child = spawn(process.execPath, ["-e", NOISY_CLIENT], {
    env: { ...process.env, AUTOCANNON: createRequire(import.meta.url).resolve("autocannon"), URL: url, CONNECTIONS: String(NOISY_CONNECTIONS), SECONDS: String(SECONDS + 1), AUTH: basic(project) },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout.on("data", (c: Buffer) => (out += c.toString()));
  return new Promise((resolve, reject) => {
    child.once("exit", () => {
      try {
        resolve(JSON.parse(out) as NoisyResult);
      } catch (err) {
        reject(new Error(`noisy client output unreadable: ${out.slice(0, 200)} (${String(err)})`));
      }
    });
  });
}

async function scenario(testDb: TestDatabase, rateLimit: boolean) {
  const server = await startServerProcess({
    DATABASE_URL: testDb.connectionString,
    BENCH_SCHEMA: testDb.schema,
    REDIS_URL: BENCH_REDIS_URL,
    QUEUE_PREFIX: `bench-${randomUUID().slice(0, 8)}`,
    RATE_LIMIT_PER_SECOND: rateLimit ? String(LIMIT.perSecond) : "0",
    RATE_LIMIT_BURST: String(LIMIT.burst),
  });
  try {
    const quiet = await createProject(testDb.db, "quiet");
    const noisy = await createProject(testDb.db, "noisy");
    const noisyRuns: NoisyResult[] = [];
    await quietP99(server.url, quiet); // warm-up
    const result = await alternate(
      ROUNDS,
      () => quietP99(server.url, quiet),
      async () => {
        const noise = startNoisy(server.url, noisy);
        // Let the noisy client reach full speed (and use up its burst) before measuring.
        await new Promise((r) => setTimeout(r, 500));
        const p99 = await quietP99(server.url, quiet);
        noisyRuns.push(await noise);
        return p99;
      },
    );
    const seconds = SECONDS + 1;
    const noisyStats = {
      noisyRequestsPerSecond: Math.round(noisyRuns.reduce((s, r) => s + r.requests, 0) / noisyRuns.length / seconds),
      noisyAcceptedPerSecond: Math.round(noisyRuns.reduce((s, r) => s + r.accepted, 0) / noisyRuns.length / seconds),
      noisyShareLimited: Number((noisyRuns.reduce((s, r) => s + r.limited, 0) / Math.max(1, noisyRuns.reduce((s, r) => s + r.requests, 0))).toFixed(3)),
    };
    return { result, noisyStats };
  } finally {
    await server.stop();
  }
}

/**
 * noisy-neighbour: a quiet project's p99 for single-event POST /v1/track at 80 req/s while another
 * project hammers the same API process past its rate limit (16 connections, no pause; 100 req/s,
 * bursts of 200 allowed) ÷ the same quiet p99 with nobody else sending. The second line is the same
 * measurement with rate limiting off, to show what the limit buys.
 */
export async function benchNoisyNeighbour(): Promise<BenchLine[]> {
  const testDb = await createTestDatabase();
  try {
    const limited = await scenario(testDb, true);
    const unlimited = await scenario(testDb, false);
    const common = { quietRate: `${QUIET_RATE} req/s`, limit: `${LIMIT.perSecond}/s, burst ${LIMIT.burst}` };
    return [
      line("noisy-neighbour", limited.result.ours, limited.result.baseline, "ms p99", { ...common, target: "<= 2", ...limited.noisyStats, samples: limited.result.samples }),
      line("noisy-neighbour-unlimited", unlimited.result.ours, unlimited.result.baseline, "ms p99", { ...common, rateLimit: "off", ...unlimited.noisyStats, samples: unlimited.result.samples }),
    ];
  } finally {
    await testDb.destroy();
  }
}
