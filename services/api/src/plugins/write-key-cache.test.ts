import { describe, expect, it } from "vitest";
import { createKeyCache } from "./write-key-cache";

/** A lookup whose answers the test releases by hand, counting the calls. */
function controlledLookup() {
  const calls: { key: string; resolve(v: string | undefined): void; reject(e: unknown): void }[] = [];
  const lookup = (key: string) => new Promise<string | undefined>((resolve, reject) => calls.push({ key, resolve, reject }));
  return { calls, lookup };
}
const settle = () => new Promise((r) => setImmediate(r));

/** A cache holding "v1" for wk_a, at 3 s: past half its 5 s life, so the next get refreshes it. */
async function cacheDueForRefresh() {
  const clock = { now: 0 };
  const { calls, lookup } = controlledLookup();
  const refreshErrors: unknown[] = [];
  const cache = createKeyCache({ lookup, ttlMs: 5_000, now: () => clock.now, onRefreshError: (err) => refreshErrors.push(err) });
  const first = cache.get("wk_a");
  calls[0]!.resolve("v1");
  await first;
  clock.now = 3_000;
  return { clock, calls, cache, refreshErrors };
}

describe("write key cache", () => {
  it("looks a key up once however many requests ask for it at the same time", async () => {
    const { calls, lookup } = controlledLookup();
    const cache = createKeyCache({ lookup, ttlMs: 5_000, now: () => 0 });
    const waiting = Array.from({ length: 20 }, () => cache.get("wk_a"));
    expect(calls).toHaveLength(1);
    calls[0]!.resolve("project-a");
    expect(await Promise.all(waiting)).toEqual(Array(20).fill("project-a"));
    expect(await cache.get("wk_a")).toBe("project-a");
    expect(calls).toHaveLength(1);
  });

  it("refreshes a busy key in the background from half its life on, answering from the entry meanwhile", async () => {
    const { calls, cache } = await cacheDueForRefresh();
    expect(await cache.get("wk_a")).toBe("v1");
    expect(await cache.get("wk_a")).toBe("v1");
    expect(calls).toHaveLength(2);
    calls[1]!.resolve("v2");
    await settle();
    expect(await cache.get("wk_a")).toBe("v2");
  });

  it("reports a failed refresh, stops answering for the key after its life, and the next request sees the error", async () => {
    const { clock, calls, cache, refreshErrors } = await cacheDueForRefresh();
    expect(await cache.get("wk_a")).toBe("v1");
    calls[1]!.reject(new Error("database down"));
    await settle();
    expect(refreshErrors).toEqual([new Error("database down")]);
    clock.now = 5_001;
    const expired = cache.get("wk_a");
    calls[2]!.reject(new Error("database down"));
    await expect(expired).rejects.toThrow("database down");
  });

  it("does not keep keys the lookup did not find, nor bring back a key cleared during its lookup", async () => {
    const { calls, lookup } = controlledLookup();
    const cache = createKeyCache({ lookup, ttlMs: 5_000, now: () => 0 });
    const unknown = cache.get("wk_unknown");
    calls[0]!.resolve(undefined);
    expect(await unknown).toBeUndefined();
    void cache.get("wk_unknown");
    expect(calls).toHaveLength(2);

    const rotated = cache.get("wk_old");
    cache.clear();
    calls[2]!.resolve("old-project");
    await rotated;
    void cache.get("wk_old");
    expect(calls).toHaveLength(4);
  });
});
