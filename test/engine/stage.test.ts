import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ProblemsError } from "../../src/core/errors.js";
import { runStage, type Stage, type StageEvent } from "../../src/engine/stage.js";
import type { Step, StepContext } from "../../src/engine/step.js";
import { Redactor } from "../../src/report/redact.js";
import { HostRunner } from "../../src/runners/host-runner.js";
import { livePids, readPids } from "../helpers/processes.js";
import { tempDir } from "../helpers/temp.js";

/** A step that runs a shell script and passes when it exits 0. */
function shellStep(id: string, script: string, timeoutSeconds = 60): Step {
  return {
    id,
    title: id.toUpperCase(),
    description: `runs ${script}`,
    defaultTimeoutSeconds: timeoutSeconds,
    async run(context: StepContext) {
      const result = await context.exec({ argv: ["sh", "-c", script] });
      return result.exitCode === 0
        ? { status: "passed", summary: result.stdout.trim() || "ok" }
        : { status: "failed", summary: `exit ${result.exitCode}` };
    },
  };
}

function stage(groups: Step[][]): Stage {
  return { name: "dev", environment: "development", description: "test stage", groups };
}

const TREE = 'sleep 60 & echo $! >> pids; sh -c "echo \\$\\$ >> pids; sleep 60" & echo $! >> pids; echo $$ >> pids; wait';

describe("runStage", () => {
  it("runs groups in order and the steps of a group at the same time", async () => {
    const workspace = tempDir();
    const events: StageEvent[] = [];
    const outcome = await runStage({
      stage: stage([
        [shellStep("a", "sleep 0.3; date +%s%N > a.end"), shellStep("b", "date +%s%N > b.start")],
        [shellStep("c", "date +%s%N > c.start")],
      ]),
      runner: new HostRunner({ workspace }),
      workspaceDir: workspace,
      jobs: 2,
      onEvent: (e) => events.push(e),
    });
    expect(outcome.status).toBe("passed");
    const at = (name: string) => BigInt(readFileSync(join(workspace, name), "utf8").trim());
    expect(at("b.start") < at("a.end")).toBe(true);
    expect(at("c.start") > at("a.end")).toBe(true);
    expect(events.filter((e) => e.type === "step-started")).toHaveLength(3);
  });

  it("runs one step at a time with jobs = 1", async () => {
    const workspace = tempDir();
    await runStage({
      stage: stage([[shellStep("a", "sleep 0.2; date +%s%N > a.end"), shellStep("b", "date +%s%N > b.start")]]),
      runner: new HostRunner({ workspace }),
      workspaceDir: workspace,
      jobs: 1,
    });
    const at = (name: string) => BigInt(readFileSync(join(workspace, name), "utf8").trim());
    expect(at("b.start") > at("a.end")).toBe(true);
  });

  it("fails fast: cancels a running sibling, kills its process tree and skips later groups", async () => {
    const workspace = tempDir();
    const outcome = await runStage({
      stage: stage([[shellStep("slow", TREE), shellStep("bad", "sleep 0.3; exit 1")], [shellStep("later", "touch later")]]),
      runner: new HostRunner({ workspace }),
      workspaceDir: workspace,
      jobs: 2,
    });
    expect(outcome.status).toBe("failed");
    const byId = Object.fromEntries(outcome.steps.map((s) => [s.id, s]));
    expect(byId.bad).toMatchObject({ status: "failed", summary: "exit 1" });
    expect(byId.slow).toMatchObject({ status: "cancelled", summary: "Cancelled: BAD failed" });
    expect(byId.later).toMatchObject({ status: "skipped", summary: "Not run: BAD failed" });
    const pids = readPids(join(workspace, "pids"));
    expect(pids).toHaveLength(4);
    expect(livePids(pids)).toEqual([]);
  });

  it("skips steps of a group that had not started when a sibling failed", async () => {
    const workspace = tempDir();
    const outcome = await runStage({
      stage: stage([[shellStep("bad", "exit 1"), shellStep("queued", "touch queued")]]),
      runner: new HostRunner({ workspace }),
      workspaceDir: workspace,
      jobs: 1,
    });
    expect(outcome.steps.map((s) => s.status)).toEqual(["failed", "skipped"]);
  });

  it("fails a step past its timeout with a message saying so, and kills its processes", async () => {
    const workspace = tempDir();
    const outcome = await runStage({
      stage: stage([[shellStep("hang", TREE, 1)]]),
      runner: new HostRunner({ workspace }),
      workspaceDir: workspace,
      jobs: 1,
      logDir: join(workspace, "logs"),
    });
    expect(outcome.steps[0]).toMatchObject({ status: "failed", summary: "Timed out after 1 s" });
    expect(outcome.steps[0]?.durationMs).toBeGreaterThanOrEqual(1000);
    expect(livePids(readPids(join(workspace, "pids")))).toEqual([]);
    expect(readFileSync(join(workspace, "logs", "hang.log"), "utf8")).toContain("[failed] Timed out after 1 s");
  });

  it("takes the timeout from the settings over the step's default", async () => {
    const workspace = tempDir();
    const outcome = await runStage({
      stage: stage([[shellStep("hang", "sleep 60", 600)]]),
      runner: new HostRunner({ workspace }),
      workspaceDir: workspace,
      settings: { hang: { enabled: true, timeoutSeconds: 1, extraArgs: [] } },
      jobs: 1,
    });
    expect(outcome.steps[0]?.summary).toBe("Timed out after 1 s");
  });

  it("reports disabled and unselected steps as skipped and passes profile variables to commands", async () => {
    const workspace = tempDir();
    const outcome = await runStage({
      stage: stage([[shellStep("on", 'echo "$TRADING_MODE"'), shellStep("off", "exit 1"), shellStep("other", "exit 1")]]),
      runner: new HostRunner({ workspace }),
      workspaceDir: workspace,
      settings: { off: { enabled: false, timeoutSeconds: undefined, extraArgs: [] } },
      only: new Set(["on", "off"]),
      profileEnv: { TRADING_MODE: "paper" },
      jobs: 2,
    });
    expect(outcome.status).toBe("passed");
    expect(outcome.steps.map((s) => [s.id, s.status, s.summary])).toEqual([
      ["on", "passed", "paper"],
      ["off", "skipped", "Disabled in the pipeline config"],
      ["other", "skipped", "Not selected (--only)"],
    ]);
  });

  it("cancels everything when the caller aborts, and says the run was interrupted", async () => {
    const workspace = tempDir();
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const outcome = await runStage({
      stage: stage([[shellStep("slow", TREE)], [shellStep("later", "true")]]),
      runner: new HostRunner({ workspace }),
      workspaceDir: workspace,
      jobs: 1,
      signal: controller.signal,
    });
    expect(outcome.status).toBe("cancelled");
    expect(outcome.steps.map((s) => s.summary)).toEqual(["Cancelled: the run was interrupted", "Not run: the run was interrupted"]);
    expect(livePids(readPids(join(workspace, "pids")))).toEqual([]);
  });

  it("turns an exception inside a step into a failed step, not a crash", async () => {
    const broken: Step = {
      id: "broken",
      title: "Broken",
      description: "throws",
      defaultTimeoutSeconds: 5,
      run: async () => {
        throw new Error("parser exploded");
      },
    };
    const workspace = tempDir();
    const outcome = await runStage({ stage: stage([[broken]]), runner: new HostRunner({ workspace }), workspaceDir: workspace, jobs: 1 });
    expect(outcome.steps[0]).toMatchObject({ status: "failed", summary: "Internal error: parser exploded" });
  });
  it("fails a step that throws an error a user can act on with its message alone, secrets redacted", async () => {
    const refused: Step = {
      id: "refused",
      title: "Refused",
      description: "throws a PipelineError",
      defaultTimeoutSeconds: 5,
      run: async () => {
        throw new ProblemsError("deploy.toml", ["hosts.0.port: expected a port, found s3cret-value"]);
      },
    };
    const workspace = tempDir();
    const outcome = await runStage({
      stage: stage([[refused]]),
      runner: new HostRunner({ workspace }),
      workspaceDir: workspace,
      jobs: 1,
      redactor: new Redactor(["s3cret-value"]),
    });
    expect(outcome.steps[0]).toMatchObject({ status: "failed", summary: "deploy.toml: hosts.0.port: expected a port, found [REDACTED]" });
  });
});
