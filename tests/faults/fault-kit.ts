import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, intervalMs = 100): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await check().catch(() => false)) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(intervalMs);
  }
}

export interface ManagedRedis {
  url: string;
  kill(): void;
  start(): Promise<void>;
}

/** A Redis of the suite's own. It keeps nothing on disk: a restart loses every job, the worst case. */
export async function startManagedRedis(): Promise<ManagedRedis> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const ping = async () => {
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on("error", () => {});
    try {
      await client.connect();
      return (await client.ping()) === "PONG";
    } finally {
      client.disconnect();
    }
  };
  const start = async () => {
    child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--maxmemory-policy", "noeviction"], { stdio: "ignore" });
    await waitFor(ping, 10_000);
  };
  await start();
  return {
    url,
    kill: () => void child?.kill("SIGKILL"),
    start,
  };
}

export interface NurtureProcess {
  child: ChildProcess;
  url: string;
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): void;
}

const MAIN = fileURLToPath(new URL("../../services/runner/src/main.ts", import.meta.url));

/** Starts `npm run start:api` / `start:worker` as a real process (what operators run). */
export async function startNurture(role: "api" | "worker", env: Record<string, string>, options: { port?: number } = {}): Promise<NurtureProcess> {
  const port = role === "api" ? (options.port ?? (await freePort())) : 0;
  const child = spawn(process.execPath, ["--import", "tsx", MAIN, role], {
    env: { ...process.env, LOG_LEVEL: "warn", HOST: "127.0.0.1", PORT: String(port), ...env },
    // FAULTS_VERBOSE=1: the processes' logs (JSON on stdout, LOG_LEVEL warn unless set) and stderr.
    stdio: ["ignore", process.env.FAULTS_VERBOSE ? "inherit" : "ignore", process.env.FAULTS_VERBOSE ? "inherit" : "ignore"],
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  if (role === "api") await waitFor(async () => (await fetch(`${url}/health/live`)).ok, 30_000, 200);
  else await sleep(1_500);
  return { child, url, exited, kill: (signal = "SIGKILL") => void child.kill(signal) };
}

export interface ScenarioResult {
  scenario: string;
  ok: boolean;
  musts: Record<string, boolean>;
  figures: Record<string, unknown>;
}

export type Scenario = () => Promise<ScenarioResult>;

export function result(scenario: string, musts: Record<string, boolean>, figures: Record<string, unknown>): ScenarioResult {
  return { scenario, ok: Object.values(musts).every(Boolean), musts, figures };
}
