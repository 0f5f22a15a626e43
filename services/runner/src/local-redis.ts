import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import { Redis } from "ioredis";

export class RedisUnavailableError extends Error {}

async function ping(url: string, timeoutMs = 1_500): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: timeoutMs });
  client.on("error", () => {});
  try {
    await client.connect();
    return (await client.ping()) === "PONG";
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/**
 * Uses the Redis at `url`; when none answers and this is a local address with `redis-server` on
 * PATH, starts one with its data (append-only file) under DATA_DIR/redis.
 */
export async function ensureRedis(url: string, dataDir: string): Promise<{ started?: ChildProcess }> {
  if (await ping(url)) return {};
  const parsed = new URL(url);
  const local = ["127.0.0.1", "localhost", "::1", "[::1]"].includes(parsed.hostname);
  const hasBinary = spawnSync("redis-server", ["--version"], { stdio: "ignore" }).status === 0;
  if (!local || !hasBinary) {
    throw new RedisUnavailableError(
      `Redis is not reachable at ${url}: set REDIS_URL to a running Redis, or install redis-server (apt-get install redis-server / brew install redis) so Nurture starts one under ${dataDir}/redis.`,
    );
  }
  const dir = resolve(dataDir, "redis");
  await mkdir(dir, { recursive: true });
  const port = parsed.port || "6379";
  const child = spawn(
    "redis-server",
    ["--port", port, "--bind", "127.0.0.1", "--dir", dir, "--appendonly", "yes", "--maxmemory-policy", "noeviction", "--save", ""],
    { stdio: "ignore" },
  );
  for (let i = 0; i < 50; i++) {
    if (await ping(url, 500)) return { started: child };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill();
  throw new RedisUnavailableError(`Started redis-server on port ${port}, but it does not answer at ${url}.`);
}
