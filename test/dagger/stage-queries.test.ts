/**
 * `staging` and `production` in the Dagger module, run by the real SDK against
 * the recording GraphQL endpoint on 127.0.0.1: the stage's CLI runs in the
 * pinned toolchain image plus bookworm's openssh-client and git and Node 24,
 * built from the module's own source, on cargo caches fetched beforehand and
 * read offline; the workspace keeps its git history; secrets
 * are only secret variables; the exec is kept out of the cache; a failed gate
 * fails the call with the run's output. What the CLI does inside is the host
 * run, tested end to end in test/deploy/.
 */
import { connection, dag } from "@dagger.io/dagger";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NODE_IMAGE, PIPELINE_PACKAGES, RUST_IMAGE, SSH_CLIENT_PACKAGES } from "../../containers/images.js";
import { UsageError } from "../../src/core/errors.js";
import { INVOCATION_VARIABLE } from "../../src/dagger/container-ssh.js";
import { PIPELINE_DIR, stageArgv } from "../../src/dagger/stage-in-dagger.js";
import { ShrivenPipeline } from "../../src/index.js";
import { execArgvs, FakeEngine, fieldCalls } from "../helpers/fake-engine.js";

const engine = new FakeEngine();
beforeAll(() => engine.start());
afterAll(() => engine.stop());

const SECRETS = {
  "ssh-key-id": "-----BEGIN OPENSSH PRIVATE KEY-----\nc3NoLWtleS1uZXZlci1zZWVu\n-----END OPENSSH PRIVATE KEY-----\n",
  "signing-key-id": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
  "github-token-id": "ghp_NeverInAQuery0123456789abcdefghijklmn",
};
const CLI = `${PIPELINE_DIR}/bin/shriven-pipeline.js`;
const AUDIT = "/src/.shriven-pipeline/audit/audit.jsonl";

/** The exec that runs the stage: `sh -c <script> sh <audit log> node <cli> run <stage> …`. */
const stageExec = (argvs: string[][]) => argvs.find((argv) => argv.includes(CLI));

async function production(exitCode: number, extra: { only?: string[]; overrideWindow?: string } = {}): Promise<string> {
  engine.reset({
    secrets: SECRETS,
    exec: (argv) =>
      argv.includes(CLI)
        ? {
            exitCode,
            stdout: exitCode === 0 ? "production stage passed in 31 min\n" : "❌ Approval gate: not approved: 1 of 2 approvals (ravi)\n",
          }
        : { exitCode: 0 },
  });
  let result = "";
  await connection(async () => {
    result = await new ShrivenPipeline().production(
      dag.loadDirectoryFromID("workspace-directory-id" as never),
      "v1.2.3",
      dag.loadSecretFromID("ssh-key-id" as never),
      dag.loadSecretFromID("signing-key-id" as never),
      dag.loadSecretFromID("github-token-id" as never),
      undefined,
      undefined,
      extra.only,
      extra.overrideWindow,
      "asha",
      "42",
      "shriven/quant",
    );
  });
  return result;
}

describe("the staging and production functions (real SDK, recorded on 127.0.0.1)", () => {
  it("production refuses `only` before anything runs: its gates are not a selection", async () => {
    await expect(production(0, { only: ["pre-validation", "approval"] })).rejects.toThrow(
      /production's gates cannot be switched off: --only pre-validation,approval leaves out the gates secrets-preflight, audit, licenses/,
    );
    expect(engine.allQueries()).not.toContain(CLI);
  });

  it("production runs the CLI in the pinned container on the workspace, secrets only as secret variables", async () => {
    const output = await production(0, { overrideWindow: "exchange outage fix, CTO approved" });
    expect(output).toBe("production stage passed in 31 min\n");
    const queries = engine.allQueries();
    const argvs = execArgvs(queries);

    // The pinned images and bookworm's packages: toolchain, openssh-client, git, and Node 24's node and npm.
    const images = fieldCalls(queries, "from").map((call) => call.address);
    expect(images).toContain(RUST_IMAGE);
    expect(images).toContain(NODE_IMAGE);
    expect(images.filter((image) => String(image).startsWith("node:"))).toEqual(images.filter((image) => image === NODE_IMAGE));
    expect(NODE_IMAGE).toMatch(/^node:24-bookworm-slim@sha256:[0-9a-f]{64}$/);
    for (const pkg of [...SSH_CLIENT_PACKAGES, ...PIPELINE_PACKAGES])
      expect(argvs).toContainEqual([
        "sh",
        "-c",
        `apt-get update && apt-get install -y --no-install-recommends ${pkg} && rm -rf /var/lib/apt/lists/*`,
      ]);
    // node and npm come from the pinned Node image's own files.
    const fromNode = engine.queries.filter((query) => fieldCalls(query, "from").some((call) => call.address === NODE_IMAGE));
    expect(fromNode.flatMap((query) => fieldCalls(query, "file"))).toContainEqual({ path: "/usr/local/bin/node" });
    expect(fromNode.flatMap((query) => fieldCalls(query, "directory"))).toContainEqual({ path: "/usr/local/lib/node_modules/npm" });
    expect(fieldCalls(queries, "withFile")).toContainEqual(expect.objectContaining({ path: "/usr/local/bin/node" }));
    // The module's own source, installed and then built there (no install script builds it).
    expect(fieldCalls(queries, "withDirectory")).toContainEqual(
      expect.objectContaining({ path: PIPELINE_DIR, exclude: ["node_modules", "dist", "sdk", "**/target"] }),
    );
    const stageChain = execArgvs(engine.queries.find((query) => execArgvs(query).some((argv) => argv.includes(CLI))) as string);
    const npm = stageChain.filter((argv) => argv[0] === "npm");
    expect(npm).toEqual([
      ["npm", "ci", "--no-audit", "--no-fund"],
      ["npm", "run", "build"],
    ]);
    expect(queries).toContain("currentModule");

    // cargo's caches: one fetch under the download lock before the stage, which reads them offline.
    const fetchAt = engine.queries.findIndex((query) => execArgvs(query).some((argv) => argv.join(" ").endsWith("cargo fetch")));
    const stageAt = engine.queries.findIndex((query) => execArgvs(query).some((argv) => argv.includes(CLI)));
    expect(fetchAt).toBeGreaterThanOrEqual(0);
    expect(fetchAt).toBeLessThan(stageAt);
    const stageQuery = engine.queries[stageAt] as string;
    expect(fieldCalls(stageQuery, "withMountedCache").filter((call) => String(call.path).startsWith("/usr/local/cargo/"))).toEqual([
      { path: "/usr/local/cargo/registry", cache: expect.any(String), sharing: "SHARED" },
      { path: "/usr/local/cargo/git", cache: expect.any(String), sharing: "SHARED" },
    ]);
    expect(fieldCalls(stageQuery, "withEnvVariable")).toContainEqual({ name: "CARGO_NET_OFFLINE", value: "true" });
    // The workspace at /src, as given (its .git kept by the function's ignore list).
    expect(fieldCalls(queries, "withMountedDirectory")).toContainEqual({ path: "/src", source: "workspace-directory-id" });

    // The stage: exactly the CLI's run, with the audit records printed after it.
    const exec = stageExec(argvs) as string[];
    expect(exec.slice(0, 2)).toEqual(["sh", "-c"]);
    expect(exec.slice(3)).toEqual([
      "sh",
      AUDIT,
      "node",
      CLI,
      "run",
      "production",
      "--source",
      "/src",
      "--tag",
      "v1.2.3",
      "--override-window",
      "exchange outage fix, CTO approved",
    ]);

    // Secrets: variables by id, never their text, never asked for.
    const variables = fieldCalls(queries, "withSecretVariable");
    expect(variables).toEqual(
      expect.arrayContaining([
        { name: "SSH_DEPLOY_KEY", secret: "ssh-key-id" },
        { name: "RELEASE_SIGNING_KEY", secret: "signing-key-id" },
        { name: "GITHUB_TOKEN", secret: "github-token-id" },
      ]),
    );
    for (const text of Object.values(SECRETS)) expect(queries).not.toContain(text.split("\n")[1] ?? text);
    expect(queries).not.toContain(SECRETS["github-token-id"]);
    expect(fieldCalls(queries, "plaintext")).toEqual([]);

    // The CI variables the gates read, and a fresh invocation so Dagger never answers the run from its cache.
    const env = Object.fromEntries(fieldCalls(queries, "withEnvVariable").map((call) => [call.name, call.value]));
    expect(env).toMatchObject({ CI: "true", GITHUB_ACTOR: "asha", GITHUB_RUN_ID: "42", GITHUB_REPOSITORY: "shriven/quant" });
    expect(env.GITHUB_REF).toBe("refs/tags/v1.2.3");
    expect(String(env[INVOCATION_VARIABLE])).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("every call is a new invocation", async () => {
    await production(0);
    const first = fieldCalls(engine.allQueries(), "withEnvVariable").find((c) => c.name === INVOCATION_VARIABLE)?.value;
    await production(0);
    const second = fieldCalls(engine.allQueries(), "withEnvVariable").find((c) => c.name === INVOCATION_VARIABLE)?.value;
    expect(first).not.toBe(second);
  });

  it("a failed gate fails the call with the run's output", async () => {
    await expect(production(1)).rejects.toThrow(
      /shriven-pipeline run production exited with 1\n❌ Approval gate: not approved: 1 of 2 approvals \(ravi\)/,
    );
  });

  it("staging runs the same way without a tag; production without one is refused before anything runs", async () => {
    engine.reset({ secrets: SECRETS, exec: () => ({ exitCode: 0, stdout: "staging stage passed\n" }) });
    let output = "";
    await connection(async () => {
      output = await new ShrivenPipeline().staging(
        dag.loadDirectoryFromID("workspace-directory-id" as never),
        dag.loadSecretFromID("ssh-key-id" as never),
        dag.loadSecretFromID("signing-key-id" as never),
      );
    });
    expect(output).toBe("staging stage passed\n");
    const argvs = execArgvs(engine.allQueries());
    expect(stageExec(argvs)?.slice(5)).toEqual(["node", CLI, "run", "staging", "--source", "/src"]);
    // (The SDK sends the chain once per field it asks for: exit code, stdout, stderr.)
    expect(new Set(fieldCalls(engine.allQueries(), "withSecretVariable").map((c) => c.name))).toEqual(
      new Set(["SSH_DEPLOY_KEY", "RELEASE_SIGNING_KEY"]),
    );

    engine.reset({ secrets: SECRETS });
    await connection(async () => {
      await expect(
        new ShrivenPipeline().production(
          dag.loadDirectoryFromID("workspace-directory-id" as never),
          " ",
          dag.loadSecretFromID("ssh-key-id" as never),
          dag.loadSecretFromID("signing-key-id" as never),
        ),
      ).rejects.toThrow(UsageError);
    });
    expect(engine.allQueries()).not.toContain("withExec");
  });

  it("refuses production arguments for staging (for callers of the core)", () => {
    const source = {} as never;
    expect(() => stageArgv({ stage: "staging", source, secrets: {}, tag: "v1.2.3" })).toThrow(
      "--tag, --override-window, --policy-ref, --wait-starts-at and --emergency are arguments of production, not of staging",
    );
    expect(() => stageArgv({ stage: "staging", source, secrets: {}, emergency: "exchange outage, hotfix now" })).toThrow(
      /are arguments of production, not of staging/,
    );
    expect(() => stageArgv({ stage: "production", source, secrets: {} })).toThrow("production needs --tag vX.Y.Z");
    // The trusted ref of the approval policy and a recorded wait start reach the CLI as its options.
    expect(
      stageArgv({
        stage: "production",
        source,
        secrets: {},
        tag: "v1.2.3",
        policyRef: "origin/trunk",
        waitStartsAt: "2026-11-28T04:30:00Z",
      }).slice(-4),
    ).toEqual(["--policy-ref", "origin/trunk", "--wait-starts-at", "2026-11-28T04:30:00Z"]);
    // The emergency hotfix's reason stays one argument, whatever it holds (the CLI checks its length).
    const reason = "exchange outage; $(touch pwned) --only=fmt";
    expect(stageArgv({ stage: "production", source, secrets: {}, tag: "v1.2.3", emergency: reason }).slice(-2)).toEqual([
      "--emergency",
      reason,
    ]);
  });
});
