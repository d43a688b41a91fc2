/**
 * How old the advisory data may be: `[audit.max_age_days]` per stage (strictly
 * validated), counted on the run's injected clock; past the limit dev warns,
 * and staging and production fail the audit naming the data's age. Through the
 * stages' own audit steps and the `audit` command.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { defaultPipelineConfig, parsePipelineConfig } from "../../src/config/pipeline-config.js";
import type { Clock } from "../../src/core/clock.js";
import type { Command, ExecResult, Runner } from "../../src/core/command.js";
import { runStage, type Stage } from "../../src/engine/stage.js";
import type { StepResult } from "../../src/engine/step.js";
import { devStage } from "../../src/stages/dev.js";
import { productionStage } from "../../src/stages/production.js";
import { allStepIds } from "../../src/stages/registry.js";
import { stagingStage } from "../../src/stages/staging.js";
import { auditOutcome } from "../../src/steps/dev/audit.js";
import { ageInDays, checkFreshness } from "../../src/supply-chain/advisory-age.js";
import type { AdvisoryDatabaseHandle } from "../../src/supply-chain/advisory-handle.js";
import { auditPolicyFrom } from "../../src/supply-chain/audit.js";
import { ADVISORY_SNAPSHOT, ADVISORY_SNAPSHOT_DATE } from "../helpers/advisory-data.js";
import { runCli } from "../helpers/cli.js";
import { configError } from "../helpers/config-error.js";
import { tempDir } from "../helpers/temp.js";

/** A lockfile with one crates.io package no advisory names: only the data's age can fail the audit. */
const CLEAN_LOCK = `version = 4

[[package]]
name = "app"
version = "0.1.0"

[[package]]
name = "itoa"
version = "1.0.11"
source = "registry+https://github.com/rust-lang/crates.io-index"
`;

/** The bundled snapshot as a local copy (2026-08-21). */
const SNAPSHOT: AdvisoryDatabaseHandle = {
  path: ADVISORY_SNAPSHOT,
  format: "snapshot",
  source: "bundled snapshot",
  origin: ADVISORY_SNAPSHOT,
  date: ADVISORY_SNAPSHOT_DATE,
  dateOf: "snapshot",
  commit: "bf5c0d2",
};

/** 103 days after the snapshot's date. */
const DECEMBER_2 = "2026-12-02";

describe("the data's age", () => {
  it("counts whole UTC days from the data's date to today, never below zero", () => {
    expect(ageInDays("2026-08-21", "2026-08-21")).toBe(0);
    expect(ageInDays("2026-08-21", "2026-08-22")).toBe(1);
    expect(ageInDays("2026-08-21", DECEMBER_2)).toBe(103);
    expect(ageInDays("2024-02-28", "2024-03-01")).toBe(2);
    expect(ageInDays("2026-12-03", DECEMBER_2)).toBe(0);
  });

  it.each([
    ["dev", 7, "fresh"],
    ["dev", 8, "stale-warning"],
    ["staging", 7, "fresh"],
    ["staging", 8, "stale-failure"],
    ["production", 8, "stale-failure"],
  ] as const)("%s with data %i days old against a 7-day limit: %s", (stage, days, verdict) => {
    const today = new Date(Date.parse("2026-08-21T00:00:00Z") + days * 86_400_000).toISOString().slice(0, 10);
    expect(checkFreshness("2026-08-21", today, stage, 7)).toEqual({ ageDays: days, maxAgeDays: 7, verdict });
  });
});

describe("[audit.max_age_days]", () => {
  const parse = (text: string) => parsePipelineConfig(text, "shriven-pipeline.toml", allStepIds()).policies.audit.maxAgeDays;

  it("defaults every stage to 7 days; each stage may be set on its own", () => {
    expect(defaultPipelineConfig(allStepIds()).policies.audit.maxAgeDays).toEqual({ dev: 7, staging: 7, production: 7 });
    expect(parse("[audit.max_age_days]\nproduction = 2\ndev = 30\n")).toEqual({ dev: 30, staging: 7, production: 2 });
  });

  it.each([
    ["dev = -1", "audit.max_age_days.dev: expected a whole number of days, 1 or more"],
    ["staging = 0", "audit.max_age_days.staging: expected a whole number of days, 1 or more"],
    ["production = 7.5", "audit.max_age_days.production: expected a whole number of days"],
    ['production = "7"', "audit.max_age_days.production: expected a whole number of days"],
    ["test = 3", "audit.max_age_days.test: unknown key; expected one of: dev, staging, production"],
  ])("refuses %s, naming the key", (line, problem) => {
    const error = configError(() => parse(`[audit.max_age_days]\n${line}\n`));
    expect(error.source).toBe("shriven-pipeline.toml");
    expect(error.problems).toEqual([problem]);
  });

  it("refuses a number where the per-stage table belongs", () => {
    expect(configError(() => parse("[audit]\nmax_age_days = 7\n")).problems[0]).toMatch(/^audit\.max_age_days: /);
  });
});

/** Answers `cat Cargo.lock` with `lock`; nothing else is asked of it. */
class LockfileRunner implements Runner {
  readonly name = "lockfile";
  constructor(private readonly lock: string) {}
  async exec(command: Command): Promise<ExecResult> {
    const ok = command.argv.join(" ") === "cat Cargo.lock";
    return {
      exitCode: ok ? 0 : 1,
      stdout: ok ? this.lock : "",
      stderr: "",
      output: "",
      durationMs: 0,
      timedOut: false,
      cancelled: false,
      outputs: {},
    };
  }
}

/** Runs the `audit` step of `stage` (as the stage defines it) on a clean lockfile with `database`, today being `today`. */
async function stageAudit(stage: Stage, database: AdvisoryDatabaseHandle, today: string, configText = ""): Promise<StepResult> {
  const config = parsePipelineConfig(configText, "shriven-pipeline.toml", allStepIds());
  const outcome = await runStage({
    stage,
    runner: new LockfileRunner(CLEAN_LOCK),
    workspaceDir: "/w",
    jobs: 1,
    only: new Set(["audit"]),
    policies: config.policies,
    services: { advisoryDatabase: async () => database, today: () => today },
  });
  const step = outcome.steps.find((s) => s.id === "audit");
  if (step === undefined) throw new Error(`${stage.name} has no audit step`);
  return step;
}

describe("the stages' audit steps on advisory data older than their limit", () => {
  it("production fails naming the data, its date and its age, and how to refresh it", async () => {
    const step = await stageAudit(productionStage, SNAPSHOT, DECEMBER_2);
    expect(step.status).toBe("failed");
    expect(step.summary).toBe(
      "advisory data too old: bundled snapshot of 2026-08-21 is 103 days old; production allows 7 days ([audit.max_age_days] production)",
    );
    expect(step.details).toContain(
      "advisory data too old: bundled snapshot of 2026-08-21 is 103 days old; production allows 7 days ([audit.max_age_days] production). Refresh it (git access to https://github.com/rustsec/advisory-db) or pass a recent copy with --advisory-db",
    );
    expect(step.data).toMatchObject({
      database: {
        source: "bundled snapshot",
        "last-updated": "2026-08-21",
        "last-commit": "bf5c0d2",
        "age-days": 103,
        "max-age-days": 7,
        stale: true,
      },
    });
  });

  it("dev warns and passes, with the date and age on the Security line", async () => {
    const step = await stageAudit(devStage, SNAPSHOT, DECEMBER_2);
    expect(step.status).toBe("warned");
    expect(step.summary).toBe("No vulnerabilities (1 crate; bundled snapshot of 2026-08-21, 103 days old, over dev's 7-day limit)");
    expect(step.details[0]).toBe(
      "old advisory data: bundled snapshot of 2026-08-21 is 103 days old; dev allows 7 days ([audit.max_age_days] dev). Advisories published since may be missing",
    );
  });

  it("passes production on data within its limit, counted on the injected date", async () => {
    const fresh = await stageAudit(productionStage, SNAPSHOT, "2026-08-28");
    expect(fresh).toMatchObject({ status: "passed", summary: "No vulnerabilities (1 crate; bundled snapshot of 2026-08-21, 7 days old)" });
    expect((await stageAudit(productionStage, SNAPSHOT, "2026-08-29")).status).toBe("failed");
  });

  it("follows the workspace's limit: a relaxed production passes and still names the age", async () => {
    const step = await stageAudit(productionStage, SNAPSHOT, DECEMBER_2, "[audit.max_age_days]\nproduction = 365\n");
    expect(step).toMatchObject({ status: "passed", summary: "No vulnerabilities (1 crate; bundled snapshot of 2026-08-21, 103 days old)" });
  });

  it("staging's stage has no audit step (the pipeline document scans in dev and production); `audit --stage staging` applies its limit", () => {
    expect(stagingStage.groups.flat().map((s) => s.id)).not.toContain("audit");
    expect(productionStage.groups.flat().map((s) => s.id)).toContain("audit");
  });

  it("reports a vulnerability first, the data's age in the details", () => {
    const outcome = auditOutcome({
      lockfileText: `${CLEAN_LOCK}\n[[package]]\nname = "tokio"\nversion = "1.8.0"\nsource = "registry+https://github.com/rust-lang/crates.io-index"\n`,
      lockfileName: "Cargo.lock",
      database: SNAPSHOT,
      policy: auditPolicyFrom(undefined),
      today: DECEMBER_2,
      stage: "production",
    });
    expect(outcome.status).toBe("failed");
    expect(outcome.summary).toMatch(/^\d+ vulnerabilities: RUSTSEC-/);
    expect(outcome.details).toContainEqual(
      expect.stringMatching(/^advisory data too old: bundled snapshot of 2026-08-21 is 103 days old;/),
    );
  });
});

describe("shriven-pipeline audit --stage, on the run's clock", () => {
  /** A clock fixed at `day` noon UTC. */
  const clockAt = (day: string): Clock => ({ now: () => Date.parse(`${day}T12:00:00Z`), sleep: async () => undefined });

  function workspace(): string {
    const dir = tempDir();
    writeFileSync(join(dir, "Cargo.lock"), CLEAN_LOCK);
    writeFileSync(join(dir, "Cargo.toml"), '[package]\nname = "app"\nversion = "0.1.0"\n');
    return dir;
  }

  it.each([
    ["production", 1, "❌ Security: advisory data too old: local snapshot of 2026-08-21 is 103 days old; production allows 7 days"],
    ["staging", 1, "❌ Security: advisory data too old: local snapshot of 2026-08-21 is 103 days old; staging allows 7 days"],
    ["dev", 0, "⚠️ Security: No vulnerabilities (1 crate; local snapshot of 2026-08-21, 103 days old, over dev's 7-day limit)"],
  ])("--stage %s exits %i", async (stage, code, line) => {
    const run = await runCli(["audit", "--source", workspace(), "--advisory-db", ADVISORY_SNAPSHOT, "--stage", stage], {
      clock: clockAt(DECEMBER_2),
    });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(code);
    expect(run.stdout.split("\n")[0]).toContain(line);
  });

  it("takes dev's limit by default, and the age from the clock it is given", async () => {
    const source = workspace();
    const early = await runCli(["audit", "--source", source, "--advisory-db", ADVISORY_SNAPSHOT, "--format", "json"], {
      clock: clockAt("2026-08-25"),
    });
    expect(early.code).toBe(0);
    expect(JSON.parse(early.stdout)).toMatchObject({ status: "passed", database: { "age-days": 4, "max-age-days": 7, stale: false } });
    const late = await runCli(["audit", "--source", source, "--advisory-db", ADVISORY_SNAPSHOT, "--format", "json"], {
      clock: clockAt(DECEMBER_2),
    });
    expect(JSON.parse(late.stdout)).toMatchObject({ status: "warned", database: { "age-days": 103, stale: true } });
  });

  it("refuses an unknown stage", async () => {
    const run = await runCli(["audit", "--source", workspace(), "--stage", "test"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--stage: expected dev, staging, production, got "test"');
  });
});
