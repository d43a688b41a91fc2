/** `scripts/deploy/local-deploy.sh`: the local entry of the pipeline document, on the built CLI. */
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { copyExample } from "../helpers/example.js";
import { tempDir } from "../helpers/temp.js";

const SCRIPT = join(import.meta.dirname, "../../scripts/deploy/local-deploy.sh");

describe("scripts/deploy/local-deploy.sh", () => {
  it("runs the dev stage for dev, passing options through", async () => {
    const source = copyExample(tempDir());
    const run = await execa("bash", [SCRIPT, "dev", "--source", source, "--only", "fmt"], { reject: false, env: { CI: "true" } });
    expect(run.stdout).toContain("✅ Formatting");
    expect(run.stdout).toMatch(/dev stage passed/);
    expect(run.exitCode).toBe(0);
  }, 120_000);

  it("runs staging for test: a workspace without its secrets fails at the signed release build", async () => {
    const source = copyExample(tempDir());
    const run = await execa("bash", [SCRIPT, "test", "--source", source, "--only", "release-build"], {
      reject: false,
      env: { CI: "true" },
    });
    expect(run.stdout).toContain("the RELEASE_SIGNING_KEY secret is missing");
    expect(run.exitCode).toBe(1);
  }, 120_000);

  it("prod is a local rehearsal of production (end to end in test/deploy/production-stage.test.ts): it needs the tag; unknown targets are refused", async () => {
    const source = copyExample(tempDir());
    const prod = await execa("bash", [SCRIPT, "prod", "--source", source], { reject: false, env: { CI: "true", TRADING_MODE: "live" } });
    expect(prod.exitCode).toBe(2);
    expect(prod.stderr).toContain("run production needs --tag vX.Y.Z (the release tag)");
    // Without a git tag the stage stops at pre-production validation, under the banner, trading paper whatever the environment says.
    const untagged = await execa("bash", [SCRIPT, "prod", "--source", source, "--tag", "v1.0.0", "--only", "pre-validation"], {
      reject: false,
      env: { CI: "true", TRADING_MODE: "live" },
    });
    expect(untagged.stdout).toContain("LOCAL REHEARSAL OF THE PRODUCTION STAGE — NOT FOR REAL TRADING");
    expect(untagged.stdout).toContain("the workspace is not a git checkout: the release tag cannot be checked");
    expect(untagged.exitCode).toBe(1);
    for (const args of [[], ["qa"]]) {
      const bad = await execa("bash", [SCRIPT, ...args], { reject: false });
      expect(bad.exitCode).toBe(2);
      expect(bad.stderr).toContain("usage:");
    }
  });
});
