/**
 * The stages' deploy step checks that the audit log can be appended to before it opens any connection: with a
 * stale audit-log lock it fails naming the lock, without reading the SSH key or reaching a host.
 */
import { mkdirSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_AUDIT_LOG } from "../../src/audit-log/policy.js";
import { resolveEnvironment } from "../../src/config/env-profile.js";
import { parsePipelineConfig } from "../../src/config/pipeline-config.js";
import { runStage } from "../../src/engine/stage.js";
import type { HostCapabilities } from "../../src/engine/step.js";
import { HostRunner } from "../../src/runners/host-runner.js";
import { allStepIds } from "../../src/stages/registry.js";
import { deployProductionStep } from "../../src/steps/production/deploy-production.js";
import { unreachableHostConfig } from "../helpers/serving-hosts.js";
import { tempDir } from "../helpers/temp.js";

const CONFIG = unreachableHostConfig("production");

describe("the deploy step with an audit log that cannot be appended to", () => {
  it("fails before reading the SSH key or touching a host, naming the stale lock", async () => {
    const workspace = tempDir();
    writeFileSync(join(workspace, "minisign.pub"), "untrusted comment: k\nRWQ\n");
    const log = join(workspace, DEFAULT_AUDIT_LOG);
    mkdirSync(join(log, ".."), { recursive: true });
    writeFileSync(`${log}.lock`, "pid 1 on a crashed runner\n");
    const old = new Date(Date.now() - 3600_000);
    utimesSync(`${log}.lock`, old, old);
    const config = parsePipelineConfig(CONFIG, join(workspace, "shriven-pipeline.toml"), allStepIds());
    const secretsRead: string[] = [];
    const host: HostCapabilities = {
      workspace,
      environment: resolveEnvironment({ environment: "production", processEnv: {} }),
      secret: (name) => {
        secretsRead.push(name);
        return name === "SSH_DEPLOY_KEY" ? "not a key" : undefined;
      },
      who: "asha",
      state: {
        deploys: {},
        builtRelease: { dir: tempDir(), version: "1.0.0", commit: "a".repeat(40), keyId: "0123456789ABCDEF", artifacts: [] },
      },
      clock: { now: () => Date.now(), sleep: async () => undefined },
      inputs: { tag: "v1.0.0" },
      ci: {},
    };
    const outcome = await runStage({
      stage: { name: "production", environment: "production", description: "d", groups: [[deployProductionStep]] },
      runner: new HostRunner({ workspace }),
      workspaceDir: workspace,
      policies: config.policies,
      services: { advisoryDatabase: () => Promise.reject(new Error("none")), today: () => "2026-12-02", host },
      jobs: 1,
    });
    const step = outcome.steps[0];
    expect(step?.status).toBe("failed");
    expect(step?.summary).toMatch(
      /^the audit log cannot be appended to, so no host was touched: .*audit\.jsonl\.lock: stale lock, 3600 s old/,
    );
    expect(secretsRead).not.toContain("SSH_DEPLOY_KEY");
  });
});
