import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["packages/*/src/**/*.test.ts", "services/*/src/**/*.test.ts", "tests/**/*.test.ts"],
    exclude: ["**/node_modules/**", "tests/faults/**"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Each file gets its own PostgreSQL schema and queue prefix, so files may run in parallel.
    pool: "forks",
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    globalSetup: ["./tests/global-setup.ts"],
  },
});
