/** The smoke tests on every test host, then the post-deploy check; a failure of either rolls every test host back. */

import { runInDeployRoot } from "../../deploy/service.js";
import type { Step } from "../../engine/step.js";
import { deployedTo, rollBack } from "../shared/deploy.js";
import { inventoryOf, needHost, serviceEnvOf, withSession } from "../shared/host.js";
import { postDeployCheck } from "./post-deploy-check.js";

/** Smoke tests on every test host; a failure rolls every host back to its previous release. */
export const smokeTestsStep: Step = {
  id: "smoke-tests",
  title: "Smoke tests",
  description:
    "[deploy.test] smoke on every test host, then [monitor.staging] (error rate > 1 %, p99 +20 % over the previous release); on failure, automatic rollback",
  defaultTimeoutSeconds: 900,
  run: async (context) => {
    const host = needHost(context, "the smoke tests");
    const deployed = deployedTo(host, "test");
    if (deployed === undefined) return { status: "failed", summary: "nothing was deployed in this run" };
    const inventory = inventoryOf(context, "test");
    const smoke = inventory.smoke;
    const failures = await withSession(host, inventory, async (session) => {
      if (smoke === undefined) return [];
      const failed: string[] = [];
      for (const target of inventory.hosts) {
        const result = await runInDeployRoot(session, target, smoke, 300_000, serviceEnvOf(host));
        if (result.exitCode !== 0)
          failed.push(`${target.name}: exit ${result.exitCode}: ${(result.stdout + result.stderr).trim().split("\n").at(-1) ?? ""}`);
      }
      return failed;
    });
    const passed =
      smoke === undefined ? "no smoke command in [deploy.test]" : `smoke tests passed on ${inventory.hosts.map((h) => h.name).join(", ")}`;
    if (failures.length > 0) return rollBack(host, inventory, deployed, `smoke tests failed on ${failures.length} host(s)`, failures);
    const check = context.policies.monitor.staging;
    if (check.durationMs === 0)
      return {
        status: smoke === undefined ? "warned" : "passed",
        summary: `${passed}; no post-deploy check ([monitor.staging] duration_minutes = 0)`,
      };
    const watched = await postDeployCheck(context, host, inventory);
    if (watched.critical !== undefined) return rollBack(host, inventory, deployed, watched.critical, watched.findings);
    return {
      status: watched.findings.length > 0 || smoke === undefined ? "warned" : "passed",
      summary: `${passed}; ${watched.summary}`,
      details: watched.findings,
    };
  },
};
