/**
 * `[github_environments]`: the pipeline document's defaults, and every bad value refused with the field named.
 */
import { describe, expect, it } from "vitest";
import { parsePipelineConfig } from "../../src/config/pipeline-config.js";
import { policyProblems } from "../../src/github-environments/plan.js";
import { DEFAULT_GITHUB_ENVIRONMENTS } from "../../src/github-environments/policy.js";
import { allStepIds } from "../../src/stages/registry.js";
import { configError } from "../helpers/config-error.js";

const parse = (text: string) => parsePipelineConfig(text, "shriven-pipeline.toml", allStepIds()).policies.githubEnvironments;

describe("[github_environments]", () => {
  it("defaults to the two-approver model's environments", () => {
    expect(parse("")).toEqual(DEFAULT_GITHUB_ENVIRONMENTS);
    expect(Object.keys(DEFAULT_GITHUB_ENVIRONMENTS)).toEqual([
      "development",
      "test",
      "production",
      "production-approval-1",
      "production-approval-2",
    ]);
    expect(DEFAULT_GITHUB_ENVIRONMENTS.test).toMatchObject({ branches: ["main"], tags: [], reviewers: [], waitTimerMinutes: 0 });
    expect(DEFAULT_GITHUB_ENVIRONMENTS.production).toEqual({
      reviewers: [],
      tags: ["v*.*.*"],
      branches: ["main"],
      waitTimerMinutes: 30,
      preventSelfReview: false,
    });
    for (const name of ["production-approval-1", "production-approval-2"] as const)
      expect(DEFAULT_GITHUB_ENVIRONMENTS[name]).toEqual({
        reviewers: [],
        tags: ["v*.*.*"],
        branches: [],
        waitTimerMinutes: 0,
        preventSelfReview: true,
      });
    expect(DEFAULT_GITHUB_ENVIRONMENTS.development).toMatchObject({ branches: [], tags: [], reviewers: [], waitTimerMinutes: 0 });
  });

  it("takes each key given and the default for the rest, the approval tables quoted", () => {
    const policy = parse(
      '[github_environments."production-approval-1"]\nreviewers = ["alice", "acme/release-approvers"]\nbranches = ["release"]\n[github_environments.test]\nwait_timer_minutes = 5\n',
    );
    expect(policy["production-approval-1"]).toEqual({
      reviewers: ["alice", "acme/release-approvers"],
      waitTimerMinutes: 0,
      preventSelfReview: true,
      branches: ["release"],
      tags: ["v*.*.*"],
    });
    expect(policy["production-approval-2"]).toEqual(DEFAULT_GITHUB_ENVIRONMENTS["production-approval-2"]);
    expect(policy.test).toMatchObject({ waitTimerMinutes: 5, branches: ["main"] });
  });

  it.each([
    ["alice and bob", '["alice"]', '["bob"]', 0],
    ["the same two people in both", '["alice", "bob"]', '["bob", "alice"]', 0],
    ["a team in both (its members are not looked up)", '["acme/approvers"]', '["acme/approvers"]', 0],
    ["one person in both", '["alice"]', '["alice"]', 1],
    ["one person in both, in other case", '["alice"]', '["ALICE"]', 1],
    ["the second environment empty", '["alice", "bob"]', "[]", 1],
    ["both empty", "[]", "[]", 2],
  ])("checks that two people can approve: %s", (_, one, two, count) => {
    const policy = parse(
      `[github_environments."production-approval-1"]\nreviewers = ${one}\n[github_environments."production-approval-2"]\nreviewers = ${two}\n`,
    );
    const problems = policyProblems(policy);
    expect(problems).toHaveLength(count);
    for (const problem of problems)
      expect(problem).toMatch(/^production-approval-[12].*\[github_environments\."production-approval-[12]"\]/);
  });

  it.each([
    [
      "an unknown environment",
      "[github_environments.staging]\n",
      "github_environments.staging: unknown key; expected one of: development, test, production, production-approval-1, production-approval-2",
    ],
    ["an unknown key", "[github_environments.test]\nwait = 3\n", "github_environments.test.wait: unknown key"],
    [
      "a negative wait timer",
      "[github_environments.production]\nwait_timer_minutes = -1\n",
      "github_environments.production.wait_timer_minutes: expected at least 0 minutes",
    ],
    [
      "a wait timer over GitHub's 43200 minutes",
      "[github_environments.production]\nwait_timer_minutes = 43201\n",
      "github_environments.production.wait_timer_minutes: expected at most 43200 minutes",
    ],
    [
      "a fractional wait timer",
      "[github_environments.production]\nwait_timer_minutes = 1.5\n",
      "wait_timer_minutes: expected a whole number of minutes",
    ],
    [
      "a wait timer as text",
      '[github_environments.production]\nwait_timer_minutes = "30"\n',
      "wait_timer_minutes: expected a whole number of minutes",
    ],
    ["an empty tag pattern", '[github_environments.production]\ntags = [""]\n', 'github_environments.production.tags.0: "" is empty'],
    ["a tag pattern with a space", '[github_environments.production]\ntags = ["v* "]\n', "github_environments.production.tags.0:"],
    ["a tag pattern no ref can match", '[github_environments.production]\ntags = ["v1..2"]\n', 'tags.0: "v1..2" contains'],
    ["a tag pattern ending in .lock", '[github_environments.production]\ntags = ["v1.lock"]\n', 'tags.0: "v1.lock" contains'],
    [
      "a branch pattern starting with /",
      '[github_environments.test]\nbranches = ["/main"]\n',
      'github_environments.test.branches.0: "/main" starts with',
    ],
    [
      "a pattern given twice",
      '[github_environments.test]\nbranches = ["main", "main"]\n',
      "github_environments.test.branches: names a pattern twice",
    ],
    [
      "tags not an array",
      '[github_environments.production]\ntags = "v*"\n',
      "github_environments.production.tags: expected an array of tag name patterns",
    ],
    [
      "a reviewer login with invalid characters",
      '[github_environments.production]\nreviewers = ["alice", "bob_smith"]\n',
      'github_environments.production.reviewers.1: "bob_smith" is neither a GitHub login',
    ],
    ["a reviewer login with a double hyphen", '[github_environments.production]\nreviewers = ["a--b"]\n', "reviewers.0:"],
    ["a reviewer with two slashes", '[github_environments.production]\nreviewers = ["acme/x/y"]\n', 'reviewers.0: "acme/x/y" is neither'],
    ["a reviewer login of 40 characters", `[github_environments.production]\nreviewers = ["${"a".repeat(40)}"]\n`, "reviewers.0:"],
    [
      "more than 6 reviewers",
      '[github_environments.production]\nreviewers = ["a1", "a2", "a3", "a4", "a5", "a6", "a7"]\n',
      "github_environments.production.reviewers: expected at most 6 reviewers (GitHub's limit)",
    ],
    [
      "a reviewer given twice",
      '[github_environments.production]\nreviewers = ["alice", "Alice"]\n',
      "github_environments.production.reviewers: names a reviewer twice",
    ],
    [
      "prevent_self_review as text",
      '[github_environments.production]\nprevent_self_review = "yes"\n',
      "prevent_self_review: expected true or false",
    ],
    [
      "an approval environment's unknown key",
      '[github_environments."production-approval-2"]\nreviewer = ["alice"]\n',
      "github_environments.production-approval-2.reviewer: unknown key",
    ],
    [
      "an approval environment's reviewer that is no login",
      '[github_environments."production-approval-1"]\nreviewers = ["alice smith"]\n',
      'github_environments.production-approval-1.reviewers.0: "alice smith" is neither a GitHub login',
    ],
    ["the table as a value", 'github_environments = "production"\n', "github_environments:"],
  ])("refuses %s, naming the field", (_, text, message) => {
    const error = configError(() => parse(text));
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain("shriven-pipeline.toml");
    expect(error.message).toContain(message);
  });
});
