import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const ENTRY = fileURLToPath(new URL("./browser/main.ts", import.meta.url));
const VERSION = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;

export const TRACKER_VERSION = VERSION;

export interface TrackerBundle {
  code: string;
  /** Strong validator for `ETag`, so browsers revalidate with a 304 instead of downloading again. */
  etag: string;
}

let cached: Promise<TrackerBundle> | null = null;

/**
 * The browser tracker as one minified IIFE (no imports, no globals besides `window.nurture`).
 * Built on first use and kept for the process's lifetime; a failed build is retried next call.
 */
export function loadTrackerBundle(): Promise<TrackerBundle> {
  if (!cached) {
    cached = bundle().catch((error: unknown) => {
      cached = null;
      throw error;
    });
  }
  return cached;
}

/** The bundle's source text, e.g. to serve at `/tracker.js`. */
export async function buildTrackerBundle(): Promise<string> {
  return (await loadTrackerBundle()).code;
}

async function bundle(): Promise<TrackerBundle> {
  const result = await build({
    entryPoints: [ENTRY],
    bundle: true,
    write: false,
    minify: true,
    format: "iife",
    // old enough for every browser that still has real traffic, new enough for compact output
    target: "es2018",
    platform: "browser",
    legalComments: "none",
    define: { __NURTURE_VERSION__: JSON.stringify(VERSION) },
    logLevel: "silent",
  });
  const file = result.outputFiles[0];
  if (!file) throw new Error("esbuild produced no tracker bundle");
  const code = `/*! nurture.js ${VERSION} */\n${file.text}`;
  return { code, etag: `"${createHash("sha256").update(code).digest("base64url").slice(0, 27)}"` };
}
