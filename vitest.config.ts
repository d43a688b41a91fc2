import { defineConfig } from "vitest/config";
import type { Reporter, TestModule } from "vitest/node";
import { missingToolsSummary, type SkippedTest } from "./test/helpers/skip-summary.js";

/**
 * Ends the run with one summary of the tests skipped for missing tools (each
 * tool, its tests and its install command; read from the meta `needs` in
 * test/helpers/tools.ts gives them), then the plain
 * `N passed, N failed, N skipped` line CI logs are read for.
 */
export const closingLine: Reporter = {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>) {
    const counts = { passed: 0, failed: 0, skipped: 0, unloaded: 0 };
    const skipped: SkippedTest[] = [];
    for (const module of testModules) {
      // A file that fails to load (a syntax error, a throwing import or hook) has no tests to count: count it.
      if (module.state() === "failed" && module.errors().length > 0) counts.unloaded++;
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === "passed") counts.passed++;
        else if (state === "failed") counts.failed++;
        else {
          counts.skipped++;
          const missingTools = test.meta().missingTools ?? [];
          if (missingTools.length > 0) skipped.push({ file: module.relativeModuleId, missingTools });
        }
      }
    }
    const summary = missingToolsSummary(skipped);
    process.stdout.write(
      `${summary === "" ? "" : `\n${summary}`}\nvitest: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped${
        counts.unloaded === 0 ? "" : `, ${counts.unloaded} test file${counts.unloaded === 1 ? "" : "s"} failed to load`
      }\n`,
    );
  },
};

/** Wall-time measurements: run last and alone, so other suites' builds do not load the machine while they time. */
const QUIET = "test/**/*.quiet.test.ts";
/** End-to-end runs of the real tools (cargo, sshd, minisign, npm): `npm run test:fast` leaves them out. */
const E2E = "test/**/*.e2e.test.ts";

export default defineConfig({
  test: {
    projects: [
      { extends: true, test: { name: "fast", include: ["test/**/*.test.ts"], exclude: [QUIET, E2E], sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: "e2e", include: [E2E], sequence: { groupOrder: 0 } } },
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
