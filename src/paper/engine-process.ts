/**
 * The engine under test as a child process: lines in on stdin, lines out on
 * stdout, stderr kept for the log. The process leads its own process group,
 * so stopping it stops anything it started.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { signalGroup, waitForGroupExit } from "../adapters/process-group.js";
import { workspaceEnv } from "../core/least-privilege-env.js";

/** Longest line the engine may write; a longer one is a protocol error, not unbounded memory. */
const MAX_LINE = 64 * 1024;
/** Stderr kept for the report (the tail). */
const STDERR_KEEP = 64 * 1024;

/** Why reading from the engine stopped. */
export class EngineStopped extends Error {
  override readonly name = "EngineStopped";
}

/** How the process ended. */
export interface EngineExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A running engine. */
export class EngineProcess {
  readonly pid: number;
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: string[] = [];
  private head = 0;
  private partial = "";
  private waiter: { resolve: () => void; reject: (e: Error) => void; deadline: number; timeoutMs: number } | undefined;
  /** One watchdog for all waits: a timer per line would cost more than the line. */
  private watchdog: NodeJS.Timeout | undefined;
  private ended: EngineExit | undefined;
  private failure: Error | undefined;
  private stderrTail = "";
  readonly exited: Promise<EngineExit>;

  private constructor(child: ChildProcessWithoutNullStreams) {
    this.child = child;
    this.pid = child.pid as number;
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => this.onData(chunk));
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-STDERR_KEEP);
    });
    // A closed stdin (the engine exited) must not crash the harness; the exit is reported instead.
    child.stdin.on("error", () => {});
    this.exited = new Promise((resolve) => {
      child.on("close", (code, signal) => {
        this.ended = { code, signal };
        this.stopWatchdog();
        this.wake(new EngineStopped(describeExit(this.ended)));
        resolve(this.ended);
      });
    });
  }

  /**
   * Starts `argv` in `cwd` with `env` on top of the toolchain's variables
   * ({@link workspaceEnv}): none of the harness's secrets reach the engine.
   *
   * @throws Error when the program cannot be started (not found, not executable).
   * @throws CommandEnvError when `env` sets a credential or a name that is no variable name.
   */
  static async start(argv: readonly string[], cwd: string, env: Readonly<Record<string, string>>): Promise<EngineProcess> {
    const [file, ...args] = argv;
    if (file === undefined || file === "") throw new Error("the engine command is empty");
    const child = spawn(file, args, { cwd, env: workspaceEnv({ argv, env }), stdio: "pipe", detached: true });
    await new Promise<void>((resolve, reject) => {
      child.once("spawn", resolve);
      child.once("error", (error) => reject(new Error(`cannot start the engine ${file}: ${error.message}`)));
    });
    return new EngineProcess(child);
  }

  private onData(chunk: string): void {
    let start = 0;
    for (let nl = chunk.indexOf("\n"); nl >= 0; nl = chunk.indexOf("\n", start)) {
      const piece = chunk.slice(start, nl);
      this.lines.push(this.partial === "" ? piece : this.partial + piece);
      this.partial = "";
      start = nl + 1;
    }
    if (start < chunk.length) {
      this.partial += chunk.slice(start);
      if (this.partial.length > MAX_LINE) {
        this.lines.push(this.partial.slice(0, 200));
        this.partial = "";
        this.failure = new EngineStopped(`the engine wrote a line longer than ${MAX_LINE} bytes`);
      }
    }
    if (this.head < this.lines.length) this.wake();
  }

  private wake(error?: Error): void {
    const waiter = this.waiter;
    if (waiter === undefined) return;
    this.waiter = undefined;
    if (error !== undefined && this.head >= this.lines.length) waiter.reject(error);
    else waiter.resolve();
  }

  private checkDeadline(): void {
    const waiter = this.waiter;
    if (waiter === undefined || performance.now() < waiter.deadline) return;
    this.waiter = undefined;
    waiter.reject(new EngineStopped(`no reply from the engine within ${waiter.timeoutMs / 1000} s`));
  }

  private stopWatchdog(): void {
    clearInterval(this.watchdog);
    this.watchdog = undefined;
  }

  /** Writes `text` (whole lines) to the engine's stdin. */
  write(text: string): void {
    if (!this.child.stdin.destroyed) this.child.stdin.write(text);
  }

  /**
   * The next line the engine wrote, waiting up to `timeoutMs` for it.
   *
   * @throws EngineStopped when the engine exits, closes stdout or stays silent too long.
   */
  async nextLine(timeoutMs: number): Promise<string> {
    if (this.head >= this.lines.length) {
      if (this.failure !== undefined) throw this.failure;
      if (this.ended !== undefined) throw new EngineStopped(describeExit(this.ended));
      await new Promise<void>((resolve, reject) => {
        this.waiter = { resolve, reject, deadline: performance.now() + timeoutMs, timeoutMs };
        this.watchdog ??= setInterval(() => this.checkDeadline(), Math.min(250, timeoutMs / 4));
      });
    }
    const line = this.lines[this.head++] as string;
    if (this.head > 4096 && this.head * 2 > this.lines.length) {
      this.lines.splice(0, this.head);
      this.head = 0;
    }
    return line;
  }

  /** Closes stdin (the engine should exit) and waits up to `graceMs` before killing the group. */
  async stop(graceMs: number): Promise<EngineExit> {
    this.child.stdin.end();
    const timer = setTimeout(() => signalGroup(this.pid, "SIGKILL"), graceMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }

  /** Kills the engine's process group at once. */
  async kill(): Promise<EngineExit> {
    signalGroup(this.pid, "SIGKILL");
    const exit = await this.exited;
    await waitForGroupExit(this.pid, 2000);
    return exit;
  }

  /** The last 64 KiB the engine wrote to stderr. */
  stderr(): string {
    return this.stderrTail;
  }
}

function describeExit(exit: EngineExit): string {
  return exit.signal !== null ? `the engine was killed by ${exit.signal}` : `the engine exited with code ${exit.code}`;
}
