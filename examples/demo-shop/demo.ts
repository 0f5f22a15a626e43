import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { DEMO_LIFECYCLE, DEMO_SCORING_RULES, DEMO_TIMINGS, demoCampaigns } from "./campaigns";
import { startDemoShop } from "./demo-shop-server";
import { seedDemoCampaigns, seedDemoLifecycle, seedDemoScoring } from "./seed";

/**
 * `npm run demo`: the demo shop next to a running Nurture (`npm start` in another terminal).
 * Creates a "Demo shop" project once (needs NURTURE_ADMIN_TOKEN, or pass NURTURE_WRITE_KEY and
 * NURTURE_SECRET_KEY of an existing project), seeds the campaigns and serves the shop.
 */
interface DemoState {
  writeKey: string;
  secretKey: string;
  identitySecret: string;
}

const apiUrl = (process.env.NURTURE_URL ?? process.env.PUBLIC_URL ?? "http://127.0.0.1:3000").replace(/\/+$/, "");
const port = Number(process.env.DEMO_PORT ?? 4000);
const stateFile = join(process.env.DATA_DIR ?? "./.data", "demo-shop.json");

async function projectWorks(secretKey: string): Promise<boolean> {
  const res = await fetch(`${apiUrl}/v1/project`, { headers: { authorization: `Bearer ${secretKey}` } });
  return res.ok;
}

/** The project's identity secret, generated through the API so Nurture verifies the shop's tokens. */
async function identitySecretFor(secretKey: string): Promise<string> {
  const res = await fetch(`${apiUrl}/v1/project/identity-verification/secret`, { method: "POST", headers: { authorization: `Bearer ${secretKey}` } });
  if (res.ok) return ((await res.json()) as { secret: string }).secret;
  return randomBytes(32).toString("base64url"); // an older server without identity verification
}

async function loadOrCreateProject(): Promise<DemoState> {
  const saved = await readFile(stateFile, "utf8").then((t) => JSON.parse(t) as DemoState, () => null);
  if (saved && (await projectWorks(saved.secretKey))) return saved;
  let state: DemoState;
  if (process.env.NURTURE_WRITE_KEY && process.env.NURTURE_SECRET_KEY) {
    const secretKey = process.env.NURTURE_SECRET_KEY;
    state = { writeKey: process.env.NURTURE_WRITE_KEY, secretKey, identitySecret: await identitySecretFor(secretKey) };
  } else if (process.env.NURTURE_ADMIN_TOKEN) {
    const res = await fetch(`${apiUrl}/v1/projects`, {
      method: "POST",
      headers: { authorization: `Bearer ${process.env.NURTURE_ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "Demo shop" }),
    });
    if (!res.ok) throw new Error(`creating the demo project failed: HTTP ${res.status} ${await res.text()}`);
    const project = (await res.json()) as { writeKey: string; secretKey: string };
    state = { writeKey: project.writeKey, secretKey: project.secretKey, identitySecret: await identitySecretFor(project.secretKey) };
  } else {
    throw new Error("set NURTURE_ADMIN_TOKEN (the same as the running service's) so the demo can create its project, or NURTURE_WRITE_KEY and NURTURE_SECRET_KEY of an existing project");
  }
  await mkdir(dirname(stateFile), { recursive: true });
  await writeFile(stateFile, JSON.stringify(state, null, 2), { mode: 0o600 });
  return state;
}

async function main(): Promise<void> {
  const health = await fetch(`${apiUrl}/health`).catch(() => null);
  if (!health) {
    console.error(`Nurture does not answer at ${apiUrl}. Start it first (npm start), or set NURTURE_URL.`);
    process.exit(2);
  }
  const state = await loadOrCreateProject();
  const shopUrl = `http://127.0.0.1:${port}`;
  const lifecycle = await seedDemoLifecycle({ apiUrl, secretKey: state.secretKey, settings: DEMO_LIFECYCLE });
  const scoring = await seedDemoScoring({ apiUrl, secretKey: state.secretKey, rules: DEMO_SCORING_RULES });
  const seeded = await seedDemoCampaigns({ apiUrl, secretKey: state.secretKey, campaigns: demoCampaigns({ shopUrl, ...DEMO_TIMINGS }) });
  const shop = await startDemoShop({ apiUrl, writeKey: state.writeKey, identitySecret: state.identitySecret, port });

  console.log(`\nDemo shop:   ${shop.url}\nNurture API: ${apiUrl}/docs\nProject keys and identity secret: ${stateFile}\n`);
  console.log(lifecycle ? "Lifecycle: buying is the core action, a session the activity." : "Lifecycle: not in this build yet.");
  console.log(scoring ? "Scoring: default rules plus the shop's own are loaded." : "Scoring: the scoring API is not in this build yet.");
  if (!seeded.available) console.log("Campaigns: the campaigns API is not in this build yet; the shop tracks, but no popups, chats or emails are sent.");
  for (const c of seeded.campaigns) console.log(`Campaign "${c.name}": ${c.outcome}${c.detail ? ` (${c.detail})` : ""}`);
  console.log(`\nTry it: open ${shop.url} in a private window (welcome popup), add something to the cart, sign in at checkout,`);
  console.log(`continue to payment and leave. A chat message waits after ${DEMO_TIMINGS.chatDelay.amount} ${DEMO_TIMINGS.chatDelay.unit}, an email after ${DEMO_TIMINGS.emailDelay.amount} ${DEMO_TIMINGS.emailDelay.unit}.`);
  console.log(`Your card: curl -H "Authorization: Bearer ${state.secretKey}" ${apiUrl}/v1/users/<your email>\n`);

  const stop = () => void shop.close().then(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
