/**
 * The hot-path step's allocation and memory gates run through the step's
 * runner, with real processes: aborting the stage stops them and leaves no
 * process behind, the step's time limit applies, and what the programs print
 * is in the step's log.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultPipelineConfig } from "../../src/config/pipeline-config.js";
import { runStage } from "../../src/engine/stage.js";
import type { HostCapabilities, StepResult, StepServices } from "../../src/engine/step.js";
import { perfPolicyFrom } from "../../src/perf/policy.js";
import { HostRunner } from "../../src/runners/host-runner.js";
import { hotPathStep } from "../../src/steps/production/hot-path.js";
import { livePids } from "../helpers/processes.js";

/**
 * `program N [sleep PIDFILE | steady]`: prints a line naming N and allocates only at start-up; `sleep` writes its
 * pid and process group to PIDFILE and sleeps a minute; `steady` runs 1.5 s with constant memory.
 */
const PROGRAM = `
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 0;
  char *buffer = malloc(4096);
  if (!buffer) return 1;
  memset(buffer, 1, 4096);
  printf("hot-path program: %ld iterations\\n", n);
  fflush(stdout);
  if (argc > 3 && strcmp(argv[2], "sleep") == 0) {
    FILE *file = fopen(argv[3], "w");
    if (!file) return 2;
    fprintf(file, "%d %d\\n", (int)getpid(), (int)getpgrp());
    fclose(file);
    sleep(60);
  }
  if (argc > 2 && strcmp(argv[2], "steady") == 0) {
    for (int i = 0; i < 75; i++) { buffer[i % 4096] += 1; usleep(20000); }
    fprintf(stderr, "memory program: steady run done\\n");
  }
  free(buffer);
  return 0;
}
`;

let dir: string;
let program: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "shriven-gates-runner-"));
  writeFileSync(join(dir, "program.c"), PROGRAM);
  program = join(dir, "program");
  execFileSync("cc", ["-O1", "-o", program, join(dir, "program.c")]);
}, 60_000);

afterAll(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

interface Commands {
  readonly alloc: string[];
  readonly memory: string[];
}

/** Runs the production stage's hot-path step alone on the host runner, in a fresh workspace with a log folder. */
async function runHotPath(commands: Commands, options: { signal?: AbortSignal; timeoutSeconds?: number } = {}) {
  const workspace = mkdtempSync(join(dir, "workspace-"));
  const logDir = join(workspace, "logs");
  const defaults = defaultPipelineConfig([]).policies;
  const perf = {
    ...perfPolicyFrom(undefined),
    buildCommand: ["true"],
    allocCommand: commands.alloc,
    allocIterations: 1000,
    memoryCommand: commands.memory,
    memoryTimeoutMs: 120_000,
  };
  const services: StepServices = {
    advisoryDatabase: () => Promise.reject(new Error("not needed")),
    today: () => "2026-01-01",
    host: { workspace } as unknown as HostCapabilities,
  };
  const started = performance.now();
  const outcome = await runStage({
    stage: { name: "production", environment: "production", description: "hot path only", groups: [[hotPathStep]] },
    runner: new HostRunner({ workspace }),
    workspaceDir: workspace,
    policies: { ...defaults, perf },
    services,
    settings: { "hot-path": { enabled: true, timeoutSeconds: options.timeoutSeconds, extraArgs: [] } },
    jobs: 1,
    logDir,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  const step = outcome.steps[0] as StepResult;
  return { step, seconds: (performance.now() - started) / 1000, log: readFileSync(join(logDir, "hot-path.log"), "utf8") };
}

/** Resolves with the pid and process group a `sleep` run wrote, once it has. */
async function sleeper(pidFile: string): Promise<{ pid: number; group: number }> {
  while (!existsSync(pidFile) || !readFileSync(pidFile, "utf8").endsWith("\n")) await new Promise((r) => setTimeout(r, 20));
  const [pid = 0, group = 0] = readFileSync(pidFile, "utf8").trim().split(" ").map(Number);
  return { pid, group };
}

function groupAlive(group: number): boolean {
  try {
    process.kill(-group, 0);
    return true;
  } catch {
    return false;
  }
}

/** The commands with the allocation run or the memory run replaced by one that sleeps a minute. */
function sleeping(which: "alloc" | "memory", pidFile: string): Commands {
  return {
    alloc: which === "alloc" ? [program, "{iterations}", "sleep", pidFile] : [program, "{iterations}"],
    memory: which === "memory" ? [program, "0", "sleep", pidFile] : [program, "0", "steady"],
  };
}

describe("the hot-path step's gates run through the step's runner", () => {
  it.each(["alloc", "memory"] as const)(
    "aborting the stage stops the %s command and leaves no process",
    async (which) => {
      const pidFile = join(dir, `abort-${which}.pid`);
      const controller = new AbortController();
      const running = runHotPath(sleeping(which, pidFile), { signal: controller.signal });
      const { pid, group } = await sleeper(pidFile);
      expect(livePids([pid])).toEqual([pid]);
      expect(group).not.toBe(pid);
      controller.abort();
      const { step, seconds } = await running;
      expect(step.status, step.summary).toBe("cancelled");
      expect(seconds).toBeLessThan(30);
      expect(livePids([pid, group])).toEqual([]);
      expect(groupAlive(group)).toBe(false);
    },
    60_000,
  );

  it.each(["alloc", "memory"] as const)(
    "the step's time limit stops the %s command and leaves no process",
    async (which) => {
      const pidFile = join(dir, `timeout-${which}.pid`);
      const running = runHotPath(sleeping(which, pidFile), { timeoutSeconds: 3 });
      const { pid, group } = await sleeper(pidFile);
      const { step, seconds, log } = await running;
      expect(step.status).toBe("failed");
      expect(step.summary).toBe("Timed out after 3 s");
      expect(seconds).toBeLessThan(20);
      expect(livePids([pid, group])).toEqual([]);
      expect(groupAlive(group)).toBe(false);
      expect(log).toContain("[failed] Timed out after 3 s");
    },
    60_000,
  );

  it("writes the gates' commands and their programs' output to the step's log", async () => {
    const { step, log } = await runHotPath({ alloc: [program, "{iterations}"], memory: [program, "0", "steady"] });
    expect(step.status, `${step.summary} ${step.details.join(" ")}`).toMatch(/^(passed|warned)$/);
    expect(step.summary).toMatch(/^0\.0000 allocations per iteration; memory /);
    expect(log).toContain("hot-path program: 1000 iterations");
    expect(log).toContain("hot-path program: 2000 iterations");
    expect(log).toContain("memory program: steady run done");
    // Each gate command is logged like any other: the compile, the two counted runs, the sampled run.
    expect(log.match(/^\$ sh -c /gm)).toHaveLength(4);
    expect(log).toContain(`${program} 2000`);
  }, 60_000);
});
