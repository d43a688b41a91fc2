import { defineConfig } from "vitest/config";
import type { Reporter, TestModule } from "vitest/node";

/** Ends the run with the plain `N passed, N failed, N skipped` line CI logs are read for. */
const closingLine: Reporter = {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>) {
    const counts = { passed: 0, failed: 0, skipped: 0 };
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === "passed") counts.passed++;
        else if (state === "failed") counts.failed++;
        else counts.skipped++;
      }
    }
    process.stdout.write(`\nvitest: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`);
  },
};

/** Wall-time measurements: run last and alone, so other suites' builds do not load the machine while they time. */
const QUIET = "test/**/*.quiet.test.ts";

export default defineConfig({
  test: {
    projects: [
      { extends: true, test: { name: "suite", include: ["test/**/*.test.ts"], exclude: [QUIET], sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: "quiet", include: [QUIET], sequence: { groupOrder: 1 } } },
    ],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // Integration suites build the example with real cargo; two at once fill two cores.
    maxWorkers: 2,
    reporters: ["default", closingLine],
    // It imports its JSON schema without an import attribute, which Node 20 refuses; let Vite load it.
    server: { deps: { inline: ["@actions/workflow-parser"] } },
  },
});
