// `npm run bench [name…]`: runs every `bench*` function exported by bench/*.bench.ts (or those whose
// metric names or function names match the arguments) and prints one JSON line per metric.
import { readdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { BenchLine } from "./bench-kit";

const dir = fileURLToPath(new URL(".", import.meta.url));
const filters = process.argv.slice(2).map((f) => f.toLowerCase());
const files = (await readdir(dir)).filter((f) => f.endsWith(".bench.ts")).sort();
let failed = false;
for (const file of files) {
  const mod = (await import(`./${file}`)) as Record<string, unknown>;
  for (const [name, fn] of Object.entries(mod)) {
    if (!name.startsWith("bench") || typeof fn !== "function") continue;
    const wanted = filters.length === 0 || filters.some((f) => name.toLowerCase().includes(f.replace(/-/g, "")) || file.toLowerCase().includes(f));
    if (!wanted) continue;
    try {
      const lines = (await (fn as () => Promise<BenchLine[]>)()) ?? [];
      for (const l of lines) console.log(JSON.stringify(l));
    } catch (err) {
      failed = true;
      console.log(JSON.stringify({ metric: name, error: err instanceof Error ? err.message : String(err) }));
    }
  }
}
process.exit(failed ? 1 : 0);
