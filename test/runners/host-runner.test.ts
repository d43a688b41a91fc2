import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { HostRunner } from "../../src/runners/host-runner.js";
import { livePids, readPids } from "../helpers/processes.js";
import { tempDir } from "../helpers/temp.js";

/** Starts a tree: sh → (sleep, sh → sleep), writing every pid to `pids`. */
const TREE = 'sleep 60 & echo $! >> pids; sh -c "echo \\$\\$ >> pids; sleep 60" & echo $! >> pids; echo $$ >> pids; wait';

describe("HostRunner", () => {
  it("returns exit code, stdout, stderr and their interleaving, and streams to the log", async () => {
    const runner = new HostRunner({ workspace: tempDir() });
    const chunks: string[] = [];
    const result = await runner.exec(
      { argv: ["sh", "-c", 'echo "out $GREETING"; echo err >&2; exit 3'], env: { GREETING: "hi" } },
      { log: { write: (c) => chunks.push(Buffer.from(c).toString()) } },
    );
    expect(result).toMatchObject({ exitCode: 3, stdout: "out hi\n", stderr: "err\n", timedOut: false, cancelled: false });
    expect(result.output).toBe("out hi\nerr\n");
    expect(chunks.join("")).toBe("out hi\nerr\n");
  });

  it("runs in a workspace-relative cwd and hands back produced files", async () => {
    const workspace = tempDir();
    const runner = new HostRunner({ workspace });
    const result = await runner.exec({
      argv: ["sh", "-c", "mkdir -p out && pwd > out/where"],
      caches: [{ key: "c", path: "cache/dir" }],
      outputs: ["out/where", "out/missing"],
    });
    expect(result.exitCode).toBe(0);
    expect(result.outputs).toEqual({ "out/where": join(workspace, "out/where") });
    expect(readFileSync(join(workspace, "out/where"), "utf8").trim()).toBe(workspace);
    expect(existsSync(join(workspace, "cache/dir"))).toBe(true);
  });

  it("refuses a cwd or output outside the workspace", async () => {
    const runner = new HostRunner({ workspace: tempDir() });
    await expect(runner.exec({ argv: ["true"], cwd: "../.." })).rejects.toThrow(/cwd "..\/.." is outside the workspace/);
    await expect(runner.exec({ argv: ["true"], outputs: ["/etc/passwd"] })).rejects.toThrow(/outside the workspace/);
  });

  it("reports a program that does not exist as exit code 127 with a message", async () => {
    const result = await new HostRunner({ workspace: tempDir() }).exec({ argv: ["no-such-program-xyz"] });
    expect(result.exitCode).toBe(127);
    expect(result.stderr).toContain("cannot start no-such-program-xyz: not found on PATH");
  });

  it("kills the whole process tree on timeout", async () => {
    const workspace = tempDir();
    const result = await new HostRunner({ workspace }).exec({ argv: ["sh", "-c", TREE], timeoutMs: 500 });
    expect(result.timedOut).toBe(true);
    expect(result.exitCode).toBeNull();
    const pids = readPids(join(workspace, "pids"));
    expect(pids).toHaveLength(4);
    expect(livePids(pids)).toEqual([]);
  });

  it("kills the whole process tree on abort, escalating to SIGKILL when SIGTERM is ignored", async () => {
    const workspace = tempDir();
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const result = await new HostRunner({ workspace, killGraceMs: 300 }).exec(
      { argv: ["sh", "-c", `trap '' TERM; ${TREE}`] },
      { signal: controller.signal },
    );
    expect(result.cancelled).toBe(true);
    expect(livePids(readPids(join(workspace, "pids")))).toEqual([]);
  });

  it("does not start a command whose signal is already aborted", async () => {
    const workspace = tempDir();
    const result = await new HostRunner({ workspace }).exec({ argv: ["sh", "-c", "touch started"] }, { signal: AbortSignal.abort() });
    expect(result.cancelled).toBe(true);
    expect(existsSync(join(workspace, "started"))).toBe(false);
  });
});
