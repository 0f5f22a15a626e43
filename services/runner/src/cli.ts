import { createProject, listProjects, rotateProjectKeys } from "@nurture/backend";
import { ConfigError, loadConfig } from "@nurture/config";
import { createDb, migrate, type Db } from "@nurture/db";
import { startEmbeddedPostgres, type EmbeddedDatabase } from "./embedded-postgres";

const USAGE = `Usage: npm run nurture -- <command>
  project create "<name>"            create a project; prints {id, name, writeKey, secretKey} as JSON
  project list                       list projects (id, name, writeKey)
  project rotate <id> [write|secret] rotate keys (both by default); prints the new keys as JSON
  migrate                            apply pending migrations`;

/** Operators' command line; output is JSON on stdout so scripts can use it. */
async function main(argv: string[]): Promise<number> {
  const [command, sub, ...rest] = argv;
  if (!command || command === "help" || command === "--help") {
    console.log(USAGE);
    return command ? 0 : 2;
  }
  const config = loadConfig();
  let embedded: EmbeddedDatabase | undefined;
  let url = config.DATABASE_URL;
  if (!url) {
    // Same zero-configuration database as `npm start` (stop `npm start` first: one server per data dir).
    embedded = await startEmbeddedPostgres(config.DATA_DIR, () => {});
    url = embedded.url;
  }
  const db = createDb({ connectionString: url, max: 2, applicationName: "nurture-cli" });
  try {
    await migrate(db);
    return await run(db, command, sub, rest);
  } finally {
    await db.destroy();
    await embedded?.stop();
  }
}

async function run(db: Db, command: string, sub: string | undefined, rest: string[]): Promise<number> {
  if (command === "migrate") {
    console.log(JSON.stringify({ migrated: true }));
    return 0;
  }
  if (command === "project" && sub === "create") {
    const name = rest.join(" ").trim();
    if (!name || name.length > 200) {
      console.error('project create: give a name of 1–200 characters, e.g. project create "Shop"');
      return 2;
    }
    console.log(JSON.stringify(await createProject(db, name)));
    return 0;
  }
  if (command === "project" && sub === "list") {
    const projects = await listProjects(db);
    console.log(JSON.stringify(projects.map((p) => ({ id: p.id, name: p.name, writeKey: p.write_key, createdAt: p.created_at }))));
    return 0;
  }
  if (command === "project" && sub === "rotate") {
    const [id, which] = rest;
    if (!id || (which && which !== "write" && which !== "secret")) {
      console.error("project rotate: give a project id and optionally write or secret");
      return 2;
    }
    const keys = which ? [which as "write" | "secret"] : (["write", "secret"] as const);
    console.log(JSON.stringify(await rotateProjectKeys(db, id, [...keys])));
    return 0;
  }
  console.error(USAGE);
  return 2;
}

main(process.argv.slice(2))
  .then((code) => process.exit(code))
  .catch((err) => {
    if (err instanceof ConfigError) console.error(err.message);
    else console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
