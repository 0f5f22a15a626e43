import type { ProjectRow } from "@nurture/db";

interface Entry {
  version: number;
  value: Promise<unknown>;
}

const entries = new Map<string, Entry>();
const MAX_ENTRIES = 20_000;

/**
 * A project's rule definitions (scoring rules, counters, segments, campaigns…) as this process last
 * read them, reused while the project's config_version is unchanged: the pipeline reads the
 * project row on every run anyway, and triggers bump the version in the same transaction as any
 * change to the rules (migrations/051), so a run never uses rules older than the row it sees.
 */
export function forProjectConfig<T>(what: string, project: Pick<ProjectRow, "id" | "config_version">, load: () => Promise<T>): Promise<T> {
  const key = `${project.id}:${what}`;
  const hit = entries.get(key);
  if (hit && hit.version === project.config_version) return hit.value as Promise<T>;
  if (entries.size >= MAX_ENTRIES) entries.clear();
  const value = load();
  entries.set(key, { version: project.config_version, value });
  // A failed read (the transaction aborted) is not kept.
  value.catch(() => {
    if (entries.get(key)?.value === value) entries.delete(key);
  });
  return value;
}
