/**
 * `github-environments plan|apply` against a loopback GitHub that keeps environments, policies, users and teams
 * in GitHub's documented shapes (test/helpers/fake-github-environments.ts): plan lists what differs (exit 3),
 * apply makes it match and checks, reviewers are resolved to ids, GitHub's errors are named, the token never shown.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { ENV_TOKEN, type FakeGitHubEnvironments, fakeGitHubEnvironments } from "../helpers/fake-github-environments.js";
import { tempDir } from "../helpers/temp.js";

/** `[github_environments]` giving both approval environments `reviewers` (TOML keys with hyphens are quoted). */
function approvers(one: string, two: string = one): string {
  return `[github_environments."production-approval-1"]\nreviewers = ${one}\n[github_environments."production-approval-2"]\nreviewers = ${two}\n`;
}

const TWO_USERS = approvers('["alice", "bob-smith"]');

/** A workspace with `config` as its shriven-pipeline.toml. */
function workspace(config: string): string {
  const dir = tempDir("shriven-envs-");
  writeFileSync(join(dir, "shriven-pipeline.toml"), config);
  return dir;
}

async function run(
  github: FakeGitHubEnvironments,
  subcommand: string,
  config: string,
  options: { token?: string; repository?: string } = {},
) {
  const result = await runCli(
    [
      "github-environments",
      subcommand,
      "--repository",
      options.repository ?? github.repository,
      "--github-api",
      github.url,
      "--source",
      workspace(config),
    ],
    { env: { GITHUB_TOKEN: options.token ?? ENV_TOKEN } },
  );
  expect(result.stdout + result.stderr).not.toContain(options.token ?? ENV_TOKEN);
  return result;
}

describe("github-environments plan", () => {
  it("on a repository without environments lists the five creations and their settings, and exits 3", async () => {
    const github = await fakeGitHubEnvironments();
    const plan = await run(github, "plan", TWO_USERS);
    expect(plan.stderr).toBe("");
    expect(plan.code).toBe(3);
    const approval = (name: string) => [
      `~ ${name}:`,
      `    create environment ${name}`,
      "    add reviewer alice (user 1001)",
      "    add reviewer bob-smith (user 1002)",
      "    set prevent self-review false → true",
      "    set deployment refs any branch → selected branches and tags",
      "    add tag policy v*.*.*",
    ];
    expect(plan.stdout).toBe(
      [
        "~ development:",
        "    create environment development",
        "~ test:",
        "    create environment test",
        "    set deployment refs any branch → selected branches and tags",
        "    add branch policy main",
        "~ production:",
        "    create environment production",
        "    set wait timer 0 → 30 minutes",
        "    set deployment refs any branch → selected branches and tags",
        "    add branch policy main",
        "    add tag policy v*.*.*",
        ...approval("production-approval-1"),
        ...approval("production-approval-2"),
        "~ 5 environments differ from [github_environments]; shriven-pipeline github-environments apply makes them match",
        "",
      ].join("\n"),
    );
    expect(github.writes()).toEqual([]);
    expect(github.violations).toEqual([]);
  });

  it("reports an approval environment without reviewers as an error (exit 1), and apply refuses before any change", async () => {
    const github = await fakeGitHubEnvironments();
    const plan = await run(github, "plan", "");
    expect(plan.code).toBe(1);
    expect(plan.stdout).toContain(
      '❌ production-approval-1: no reviewers configured; each approval environment needs at least one: set reviewers in [github_environments."production-approval-1"]\n' +
        '❌ production-approval-2: no reviewers configured; each approval environment needs at least one: set reviewers in [github_environments."production-approval-2"]\n' +
        "❌ 2 problems in [github_environments]\n",
    );
    const second = await run(github, "plan", '[github_environments."production-approval-1"]\nreviewers = ["alice", "bob-smith"]\n');
    expect(second.code).toBe(1);
    expect(second.stdout).toContain("❌ production-approval-2: no reviewers configured");
    expect(second.stdout).not.toContain("❌ production-approval-1");
    const apply = await run(github, "apply", "");
    expect(apply.code).toBe(1);
    expect(apply.stderr).toContain("refusing to apply, nothing was changed:");
    expect(github.writes()).toEqual([]);
  });

  it("requires two people who can approve: one person in both approval environments is an error; a team is enough", async () => {
    const github = await fakeGitHubEnvironments();
    const config = approvers('["alice"]');
    const plan = await run(github, "plan", config);
    expect(plan.code).toBe(1);
    expect(plan.stdout).toContain(
      '❌ production-approval-1 and production-approval-2: only alice can approve; two different people must approve a release: name at least 2 distinct reviewers (or a team) in [github_environments."production-approval-1"] and [github_environments."production-approval-2"]',
    );
    const apply = await run(github, "apply", config);
    expect(apply.code).toBe(1);
    expect(apply.stderr).toContain("refusing to apply, nothing was changed:");
    expect(github.writes()).toEqual([]);
    expect((await run(github, "plan", approvers('["alice"]', '["bob-smith"]'))).code).toBe(3);
    expect((await run(github, "plan", approvers('["acme/release-approvers"]'))).code).toBe(3);
  });

  it("refuses [approval] github_environments other than the two it manages, before asking GitHub (exit 2)", async () => {
    const github = await fakeGitHubEnvironments();
    const plan = await run(github, "plan", `[approval]\ngithub_environments = ["prod-gate-a", "prod-gate-b"]\n${TWO_USERS}`);
    expect(plan.code).toBe(2);
    expect(plan.stderr).toContain(
      "approval.github_environments: prod-gate-a, prod-gate-b; github-environments manages only production-approval-1 and production-approval-2 (the default)",
    );
    expect(github.requests).toEqual([]);
  });
});

describe("github-environments apply", () => {
  it("creates the environments; plan then finds no drift (exit 0)", async () => {
    const github = await fakeGitHubEnvironments();
    const apply = await run(github, "apply", TWO_USERS);
    expect(apply.stderr).toBe("");
    expect(apply.code).toBe(0);
    expect(apply.stdout).toContain("✅ applied 5 environments; GitHub now matches [github_environments]");
    const policies = (name: string) => `POST /repos/acme/quant/environments/${name}/deployment-branch-policies`;
    expect(github.writes()).toEqual([
      "PUT /repos/acme/quant/environments/development",
      "PUT /repos/acme/quant/environments/test",
      "PUT /repos/acme/quant/environments/production",
      "PUT /repos/acme/quant/environments/production-approval-1",
      "PUT /repos/acme/quant/environments/production-approval-2",
      policies("test"),
      policies("production"),
      policies("production"),
      policies("production-approval-1"),
      policies("production-approval-2"),
    ]);
    expect(github.environments.get("development")).toMatchObject({ waitTimer: 0, reviewers: [], branchPolicy: null });
    expect(github.environments.get("test")).toMatchObject({
      waitTimer: 0,
      reviewers: [],
      branchPolicy: { protected_branches: false, custom_branch_policies: true },
      policies: [{ name: "main", type: "branch" }],
    });
    expect(github.environments.get("production")).toMatchObject({
      waitTimer: 30,
      reviewers: [],
      branchPolicy: { protected_branches: false, custom_branch_policies: true },
      policies: [
        { name: "main", type: "branch" },
        { name: "v*.*.*", type: "tag" },
      ],
    });
    for (const name of ["production-approval-1", "production-approval-2"])
      expect(github.environments.get(name)).toMatchObject({
        waitTimer: 0,
        preventSelfReview: true,
        reviewers: [
          { type: "User", id: 1001 },
          { type: "User", id: 1002 },
        ],
        branchPolicy: { protected_branches: false, custom_branch_policies: true },
        policies: [{ name: "v*.*.*", type: "tag" }],
      });
    const plan = await run(github, "plan", TWO_USERS);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toBe(
      [
        "✅ development: matches [github_environments]",
        "✅ test: matches [github_environments]",
        "✅ production: matches [github_environments]",
        "✅ production-approval-1: matches [github_environments]",
        "✅ production-approval-2: matches [github_environments]",
        "✅ GitHub matches [github_environments]",
        "",
      ].join("\n"),
    );
    expect(github.violations).toEqual([]);
  });

  it("reports a wait timer changed on GitHub as drift, and apply puts it back", async () => {
    const github = await fakeGitHubEnvironments();
    expect((await run(github, "apply", TWO_USERS)).code).toBe(0);
    const production = github.environments.get("production");
    if (production === undefined) throw new Error("production was not created");
    production.waitTimer = 5;
    const plan = await run(github, "plan", TWO_USERS);
    expect(plan.code).toBe(3);
    expect(plan.stdout).toContain(
      "~ production:\n    set wait timer 5 → 30 minutes\n✅ production-approval-1: matches [github_environments]\n✅ production-approval-2: matches [github_environments]\n~ 1 environment differs from [github_environments]; shriven-pipeline github-environments apply makes it match\n",
    );
    const writes = github.writes().length;
    expect((await run(github, "apply", TWO_USERS)).code).toBe(0);
    expect(github.writes().slice(writes)).toEqual(["PUT /repos/acme/quant/environments/production"]);
    expect(github.environments.get("production")?.waitTimer).toBe(30);
  });

  it("applies a user and a team as an approval environment's reviewers by id, removes stray reviewers and policies", async () => {
    const github = await fakeGitHubEnvironments();
    const stray = { preventSelfReview: false, reviewers: [{ type: "User" as const, id: 1003 }] };
    github.environments.set("production-approval-1", {
      id: 7,
      waitTimer: 5,
      ...stray,
      branchPolicy: { protected_branches: false, custom_branch_policies: true },
      policies: [{ id: 8, name: "foo", type: "branch" }],
    });
    github.environments.set("production", { id: 9, waitTimer: 30, ...stray, branchPolicy: null, policies: [] });
    const config = approvers('["alice", "acme/release-approvers"]');
    const plan = await run(github, "plan", config);
    expect(plan.code).toBe(3);
    expect(plan.stdout).toContain(
      [
        "~ production:",
        "    remove reviewer carol (user 1003)",
        "    set deployment refs any branch → selected branches and tags",
        "    add branch policy main",
        "    add tag policy v*.*.*",
        "~ production-approval-1:",
        "    set wait timer 5 → 0 minutes",
        "    add reviewer alice (user 1001)",
        "    add reviewer acme/release-approvers (team 501)",
        "    remove reviewer carol (user 1003)",
        "    set prevent self-review false → true",
        "    add tag policy v*.*.*",
        "    remove branch policy foo",
      ].join("\n"),
    );
    expect((await run(github, "apply", config)).code).toBe(0);
    expect(github.environments.get("production-approval-1")).toMatchObject({
      waitTimer: 0,
      preventSelfReview: true,
      reviewers: [
        { type: "User", id: 1001 },
        { type: "Team", id: 501 },
      ],
      policies: [{ name: "v*.*.*", type: "tag" }],
    });
    expect(github.environments.get("production")).toMatchObject({ waitTimer: 30, reviewers: [] });
    expect(github.writes()).toContain("DELETE /repos/acme/quant/environments/production-approval-1/deployment-branch-policies/8");
    expect((await run(github, "plan", config)).code).toBe(0);
    expect(github.violations).toEqual([]);
  });

  it("does not add twice a policy GitHub kept while custom policies were off", async () => {
    const github = await fakeGitHubEnvironments();
    github.environments.set("test", {
      id: 7,
      waitTimer: 0,
      preventSelfReview: false,
      reviewers: [],
      branchPolicy: null,
      policies: [{ id: 8, name: "main", type: "branch" }],
    });
    expect((await run(github, "apply", TWO_USERS)).code).toBe(0);
    expect(github.environments.get("test")?.policies).toEqual([{ id: 8, name: "main", type: "branch" }]);
    expect(github.violations).toEqual([]);
  });
});

describe("github-environments errors", () => {
  it("names a rejected token (401) and the call, never the token", async () => {
    const github = await fakeGitHubEnvironments();
    const wrong = "ghp_WrongT0kenAlsoNeverShown00000000000000";
    const plan = await run(github, "plan", TWO_USERS, { token: wrong });
    expect(plan.code).toBe(1);
    expect(plan.stderr).toContain(
      "listing the environments of acme/quant (GET /repos/{owner}/{repo}/environments): GitHub rejected the token (HTTP 401 Bad credentials)",
    );
  });

  it("names an unknown repository (404)", async () => {
    const github = await fakeGitHubEnvironments();
    const plan = await run(github, "plan", TWO_USERS, { repository: "acme/missing" });
    expect(plan.code).toBe(1);
    expect(plan.stderr).toContain("listing the environments of acme/missing");
    expect(plan.stderr).toContain("not found, or the token cannot see it (HTTP 404 Not Found)");
  });

  it("names an unknown reviewer (404 on the user or team)", async () => {
    const github = await fakeGitHubEnvironments();
    const user = await run(github, "plan", approvers('["alice", "nobody"]'));
    expect(user.code).toBe(1);
    expect(user.stderr).toContain("looking up the reviewer nobody of acme/quant (GET /users/{username}): not found");
    const team = await run(github, "plan", approvers('["alice"]', '["acme/ghosts"]'));
    expect(team.stderr).toContain("looking up the reviewer team acme/ghosts of acme/quant (GET /orgs/{org}/teams/{team_slug}): not found");
  });

  it("names GitHub's refusal of a write (422)", async () => {
    const github = await fakeGitHubEnvironments();
    github.refused.add(501);
    const apply = await run(github, "apply", approvers('["alice", "acme/release-approvers"]'));
    expect(apply.code).toBe(1);
    expect(apply.stderr).toContain(
      "writing the environment production-approval-1 of acme/quant (PUT /repos/{owner}/{repo}/environments/{environment_name}): GitHub refused the request (HTTP 422 Validation Failed: Environment invalid reviewer Team 501 cannot review this environment)",
    );
    github.echoAuthorization = true;
    const echoed = await run(github, "apply", approvers('["alice", "acme/release-approvers"]'));
    expect(echoed.code).toBe(1);
    expect(echoed.stderr).toContain("cannot review this environment (token [REDACTED])");
  });

  it("names a token without write permission (403), after changing nothing", async () => {
    const github = await fakeGitHubEnvironments();
    github.readOnly = true;
    const apply = await run(github, "apply", TWO_USERS);
    expect(apply.code).toBe(1);
    expect(apply.stderr).toContain(
      "writing the environment development of acme/quant (PUT /repos/{owner}/{repo}/environments/{environment_name}): the token is not allowed to do this (HTTP 403 Resource not accessible by integration); it needs administration: write on acme/quant",
    );
    expect(github.environments.size).toBe(0);
  });

  it("refuses an answer of the wrong shape, and names an unreachable GitHub", async () => {
    const github = await fakeGitHubEnvironments();
    github.garbled = true;
    const garbled = await run(github, "plan", TWO_USERS);
    expect(garbled.code).toBe(1);
    expect(garbled.stderr).toContain("GET /repos/{owner}/{repo}/environments of acme/quant: GitHub answered with an unexpected response");
    const url = github.url;
    await github.stop();
    const unreachable = await runCli(["github-environments", "plan", "--repository", "acme/quant", "--github-api", url], {
      cwd: workspace(TWO_USERS),
      env: { GITHUB_TOKEN: ENV_TOKEN },
    });
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toContain(
      "listing the environments of acme/quant (GET /repos/{owner}/{repo}/environments): cannot reach GitHub (ECONNREFUSED)",
    );
    expect(unreachable.stderr).not.toContain(ENV_TOKEN);
  });

  it("refuses bad arguments as usage errors before asking GitHub", async () => {
    const github = await fakeGitHubEnvironments();
    const cwd = workspace(TWO_USERS);
    const cases: [string[], Record<string, string>, string][] = [
      [["github-environments"], { GITHUB_TOKEN: ENV_TOKEN }, "github-environments: expected plan or apply, got nothing"],
      [["github-environments", "destroy"], { GITHUB_TOKEN: ENV_TOKEN }, 'expected plan or apply, got "destroy"'],
      [["github-environments", "plan", "--repository", "acme/quant"], {}, "set GITHUB_TOKEN"],
      [["github-environments", "plan"], { GITHUB_TOKEN: ENV_TOKEN }, "name the repository with --repository OWNER/NAME"],
      [
        ["github-environments", "plan", "--repository", "acme/quant/x"],
        { GITHUB_TOKEN: ENV_TOKEN },
        '--repository: expected OWNER/NAME, got "acme/quant/x"',
      ],
      [["github-environments", "plan", "--repository", "acme/.."], { GITHUB_TOKEN: ENV_TOKEN }, "--repository: expected OWNER/NAME"],
      [
        ["github-environments", "plan", "--repository", "acme/quant", "--github-api", "file:///etc"],
        { GITHUB_TOKEN: ENV_TOKEN },
        "--github-api: expected an http(s) URL",
      ],
    ];
    for (const [args, env, message] of cases) {
      const result = await runCli(args, { cwd, env });
      expect(result.code, args.join(" ")).toBe(2);
      expect(result.stderr).toContain(message);
    }
    const badConfig = await runCli(["github-environments", "plan", "--repository", "acme/quant"], {
      cwd: workspace("[github_environments.production]\nwait_timer_minutes = 50000\n"),
      env: { GITHUB_TOKEN: ENV_TOKEN },
    });
    expect(badConfig.code).toBe(2);
    expect(badConfig.stderr).toContain("github_environments.production.wait_timer_minutes: expected at most 43200 minutes");
    expect(github.requests).toEqual([]);
  });
});
