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

  it("refuses prod until the production stage exists, and an unknown target", async () => {
    const prod = await execa("bash", [SCRIPT, "prod"], { reject: false });
    expect(prod.exitCode).toBe(2);
    expect(prod.stderr).toContain("the production stage is not available in this version yet");
    for (const args of [[], ["qa"]]) {
      const bad = await execa("bash", [SCRIPT, ...args], { reject: false });
      expect(bad.exitCode).toBe(2);
      expect(bad.stderr).toContain("usage:");
    }
  });
});
