import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

/** One benchmark figure: ours against a baseline measured in the same run on the same machine. */
export interface BenchLine {
  metric: string;
  ours: number;
  baseline: number;
  /** ours ÷ baseline. */
  ratio: number;
  unit: string;
  [extra: string]: unknown;
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

export const round = (x: number, digits = 3) => Number(x.toFixed(digits));

export function line(metric: string, ours: number, baseline: number, unit: string, extra: Record<string, unknown> = {}): BenchLine {
  return { metric, ours: round(ours), baseline: round(baseline), ratio: round(ours / baseline), unit, ...extra };
}

/**
 * The machine is shared and noisy: baseline and ours take turns, several rounds, and the medians
 * are compared, so a burst of load from elsewhere hits both sides alike.
 */
export async function alternate(rounds: number, baseline: () => Promise<number>, ours: () => Promise<number>): Promise<{ baseline: number; ours: number; samples: { baseline: number[]; ours: number[] } }> {
  const b: number[] = [];
  const o: number[] = [];
  for (let i = 0; i < rounds; i++) {
    b.push(await baseline());
    o.push(await ours());
  }
  return { baseline: median(b), ours: median(o), samples: { baseline: b.map((x) => round(x)), ours: o.map((x) => round(x)) } };
}

export const BENCH_DATABASE_URL = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
export const BENCH_REDIS_URL = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";

/**
 * Runs the API (and optionally the worker) in a child process, as in production, so the load
 * generator in this process does not share its event loop. Resolves with the base URL.
 */
export async function startServerProcess(env: Record<string, string>): Promise<{ url: string; child: ChildProcess; stop(): Promise<void> }> {
  const script = fileURLToPath(new URL("./bench-server.ts", import.meta.url));
  // BENCH_CPU_PROF=dir writes a V8 CPU profile of the server process there, for finding hot spots.
  const prof = process.env.BENCH_CPU_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const child = spawn(process.execPath, [...prof, "--import", "tsx", script], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "inherit"] });
  const url = await new Promise<string>((resolve, reject) => {
    let buffer = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      const match = /LISTENING (\S+)/.exec(buffer);
      if (match) resolve(match[1]!);
    });
    child.once("exit", (code) => reject(new Error(`bench server exited with ${code}`)));
  });
  return {
    url,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}
