import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // Integration suites build the example with real cargo; two at once fill two cores.
    maxWorkers: 2,
  },
});
