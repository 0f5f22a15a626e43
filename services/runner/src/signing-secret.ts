import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { resolve } from "node:path";

/**
 * Links in emails are signed. In the zero-configuration mode the secret is generated once and kept
 * in DATA_DIR so links keep working across restarts; several API processes must share SIGNING_SECRET.
 */
export async function resolveSigningSecret(configured: string | undefined, dataDir: string): Promise<string> {
  if (configured) return configured;
  const file = resolve(dataDir, "signing-secret");
  if (existsSync(file)) return (await readFile(file, "utf8")).trim();
  await mkdir(resolve(dataDir), { recursive: true });
  const secret = randomBytes(32).toString("hex");
  await writeFile(file, secret, { mode: 0o600 });
  return secret;
}
