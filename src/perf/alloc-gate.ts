/**
 * Allocation gate: checks that a hot path does not allocate per iteration.
 *
 * The command runs twice under an LD_PRELOAD allocation counter
 * (`native/alloc-counter.c`), once with N and once with 2N iterations. Set-up
 * and shutdown allocate the same in both runs, so the difference divided by
 * the extra iterations is what one iteration allocates; a hot path that reuses
 * its buffers scores 0.
 */
import { mkdir, mkdtemp, readFile, rename, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";

/** File name of the compiled allocation counter. */
export const ALLOC_COUNTER_LIBRARY = "libshriven_alloc.so";

/** Placeholder in a gate's command template that receives the iteration count. */
export const ITERATIONS_PLACEHOLDER = "{iterations}";

/**
 * Compiles the allocation counter into `<outDir>/libshriven_alloc.so` with
 * `cc -shared -fPIC -O2 … -ldl -pthread` and returns its absolute path. An
 * existing library newer than the C source is reused. The compiler writes to a
 * temporary name that is then renamed, so concurrent builds never expose a
 * half-written library.
 *
 * @throws Error when the C source is missing or `cc` fails (with its output).
 */
export async function buildAllocCounter(outDir: string): Promise<string> {
  const source = fileURLToPath(new URL("./native/alloc-counter.c", import.meta.url));
  const sourceTime = await modifiedAt(source);
  if (sourceTime === undefined)
    throw new Error(`allocation counter source not found at ${source}: is src/perf/native shipped alongside this module?`);
  const library = resolve(outDir, ALLOC_COUNTER_LIBRARY);
  const libraryTime = await modifiedAt(library);
  if (libraryTime !== undefined && libraryTime > sourceTime) return library;

  await mkdir(dirname(library), { recursive: true });
  const partial = `${library}.${process.pid}.tmp`;
  const args = ["-shared", "-fPIC", "-O2", "-o", partial, "alloc-counter.c", "-ldl", "-pthread"];
  const result = await execa("cc", args, { cwd: dirname(source), reject: false, all: true, stdin: "ignore" });
  if (result.failed) {
    await rm(partial, { force: true });
    throw new Error(
      `cannot compile the allocation counter (cc ${args.join(" ")}; is a C compiler installed as cc?):\n${result.all ?? result.shortMessage}`,
    );
  }
  await rename(partial, library);
  return library;
}

async function modifiedAt(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).mtimeMs;
  } catch {
    return undefined;
  }
}

/** Options of {@link countAllocations}. */
export interface CountAllocationsOptions {
  /** Path of the counter built by {@link buildAllocCounter}. */
  readonly library: string;
  /** Working directory of the command. */
  readonly cwd?: string;
  /** Extra environment variables (added to the current environment). */
  readonly env?: Record<string, string>;
  /** The command is killed when it runs longer, which is an error. */
  readonly timeoutMs: number;
}

/** Allocation counts of one run. */
export interface AllocationCount {
  /** Successful malloc, calloc and realloc calls. */
  readonly allocations: number;
  /** Bytes those calls requested. */
  readonly bytes: number;
  /** Exit code of the command. */
  readonly exitCode: number;
}

interface CountedRun extends AllocationCount {
  readonly stderr: string;
}

/**
 * Runs `argv` (no shell) with the allocation counter preloaded and returns
 * how often and how much the process allocated through malloc, calloc and
 * realloc. Processes it execs also load the counter and may replace the
 * report, so run the program directly rather than through a wrapper.
 *
 * @throws Error when the command cannot be started, times out, dies from a
 *   signal, or writes no report (e.g. a static binary, which ignores LD_PRELOAD).
 */
export async function countAllocations(argv: string[], options: CountAllocationsOptions): Promise<AllocationCount> {
  const { allocations, bytes, exitCode } = await runCounted(argv, options);
  return { allocations, bytes, exitCode };
}

async function runCounted(argv: string[], options: CountAllocationsOptions): Promise<CountedRun> {
  const [file, ...args] = argv;
  if (file === undefined || file === "") throw new Error("countAllocations: argv must name a command (argv[0])");
  const library = resolve(options.library);
  if ((await modifiedAt(library)) === undefined)
    throw new Error(`allocation counter library not found at ${library}: build it with buildAllocCounter()`);
  const reportDir = await mkdtemp(join(tmpdir(), "shriven-alloc-"));
  try {
    const report = join(reportDir, "report");
    const result = await execa(file, args, {
      cwd: options.cwd,
      env: { ...options.env, LD_PRELOAD: library, SHRIVEN_ALLOC_OUT: report },
      stdin: "ignore",
      reject: false,
      timeout: options.timeoutMs,
      forceKillAfterDelay: 2_000,
    });
    const stderr = typeof result.stderr === "string" ? result.stderr : "";
    if (result.timedOut) throw new Error(`${file} timed out after ${options.timeoutMs} ms under the allocation counter`);
    if (result.exitCode === undefined) {
      const why = result.signal === undefined ? `could not be started: ${result.shortMessage}` : `was killed by ${result.signal}`;
      throw new Error(`${file} ${why}${tail(stderr)}`);
    }
    return { ...(await readReport(report, file)), exitCode: result.exitCode, stderr };
  } finally {
    await rm(reportDir, { recursive: true, force: true });
  }
}

async function readReport(report: string, file: string): Promise<{ allocations: number; bytes: number }> {
  let text: string;
  try {
    text = await readFile(report, "utf8");
  } catch {
    throw new Error(
      `${file} wrote no allocation report: it must be dynamically linked against libc (LD_PRELOAD is ignored by static binaries) and exit normally (not via _exit or a signal)`,
    );
  }
  const match = /^allocations=(\d+) bytes=(\d+)$/m.exec(text);
  if (match?.[1] === undefined || match[2] === undefined)
    throw new Error(`malformed allocation report from ${file}: ${JSON.stringify(text)}`);
  return { allocations: Number(match[1]), bytes: Number(match[2]) };
}

function tail(stderr: string): string {
  const lines = stderr.trimEnd().split("\n").slice(-10).join("\n");
  return lines === "" ? "" : `; stderr:\n${lines}`;
}

/** Allocations of a run at a given iteration count. */
export interface IterationAllocations {
  /** Iterations the run performed. */
  readonly iterations: number;
  /** Allocations it made. */
  readonly allocations: number;
}

/** Verdict of {@link allocationVerdict}. */
export interface AllocationVerdict {
  /** True when allocations grow by at most the tolerance per iteration. */
  readonly ok: boolean;
  /** Extra allocations per extra iteration (negative when the longer run allocated less). */
  readonly perIteration: number;
  /** One line explaining the verdict, with both counts. */
  readonly message: string;
}

/**
 * Compares a run at N iterations with one at 2N (any larger count works):
 * `perIteration = (alloc2N − allocN) / (iterations2N − iterationsN)`, which
 * fails when above `tolerancePerIteration` (default 0.01, i.e. one allocation
 * per 100 iterations).
 *
 * @throws Error when the second run does not have more iterations, or a count
 *   is not a non-negative integer.
 */
export function allocationVerdict(
  atN: IterationAllocations,
  at2N: IterationAllocations,
  options: { tolerancePerIteration?: number } = {},
): AllocationVerdict {
  const tolerance = options.tolerancePerIteration ?? 0.01;
  if (!Number.isFinite(tolerance) || tolerance < 0) throw new Error(`tolerancePerIteration must be a finite number ≥ 0, got ${tolerance}`);
  for (const [name, value] of Object.entries({ ...prefixed("N", atN), ...prefixed("2N", at2N) })) {
    if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, got ${value}`);
  }
  if (at2N.iterations <= atN.iterations) {
    throw new Error(`the second run needs more iterations than the first (N=${atN.iterations}, 2N=${at2N.iterations})`);
  }
  const growth = at2N.allocations - atN.allocations;
  const perIteration = growth / (at2N.iterations - atN.iterations);
  const counts = `(N=${atN.iterations}: ${atN.allocations} allocations, 2N=${at2N.iterations}: ${at2N.allocations})`;
  const ok = perIteration <= tolerance;
  if (!ok) return { ok, perIteration, message: `hot path allocates ${perIteration.toFixed(2)} times per iteration ${counts}` };
  if (growth <= 0) return { ok, perIteration, message: `no allocations grow with iterations ${counts}` };
  return {
    ok,
    perIteration,
    message: `allocations grow by ${perIteration.toFixed(4)} per iteration, within the tolerance of ${tolerance} ${counts}`,
  };
}

function prefixed(label: string, run: IterationAllocations): Record<string, number> {
  return { [`${label}.iterations`]: run.iterations, [`${label}.allocations`]: run.allocations };
}

/** Options of {@link runAllocationGate}. */
export interface AllocationGateOptions {
  /** N: the first run's iteration count (the second run uses 2N). */
  readonly iterations: number;
  /** Path of the counter built by {@link buildAllocCounter}. */
  readonly library: string;
  /** Working directory of the command. */
  readonly cwd?: string;
  /** Time limit of each run. */
  readonly timeoutMs: number;
  /** Allowed allocations per iteration; default 0.01. */
  readonly tolerancePerIteration?: number;
}

/** One run of the gate. */
export interface AllocationRun extends AllocationCount {
  /** Iterations substituted into the command. */
  readonly iterations: number;
}

/** Outcome of {@link runAllocationGate}. */
export interface AllocationGateResult extends AllocationVerdict {
  /** The run at N iterations. */
  readonly atN: AllocationRun;
  /** The run at 2N iterations. */
  readonly at2N: AllocationRun;
}

/**
 * Runs `commandTemplate` at N and at 2N iterations under the allocation
 * counter (substituting the one `{iterations}` placeholder, which may be part
 * of an argument such as `--iterations={iterations}`) and judges the growth
 * with {@link allocationVerdict}.
 *
 * @throws Error when the template does not contain `{iterations}` exactly
 *   once, N is not a positive integer, or a run fails or exits non-zero.
 */
export async function runAllocationGate(commandTemplate: string[], options: AllocationGateOptions): Promise<AllocationGateResult> {
  validateTemplate(commandTemplate);
  const n = options.iterations;
  if (!Number.isSafeInteger(n) || n <= 0 || !Number.isSafeInteger(2 * n))
    throw new Error(`iterations must be a positive integer, got ${n}`);
  const atN = await gateRun(commandTemplate, n, options);
  const at2N = await gateRun(commandTemplate, 2 * n, options);
  const verdict = allocationVerdict(atN, at2N, { tolerancePerIteration: options.tolerancePerIteration });
  return { ...verdict, atN, at2N };
}

function validateTemplate(template: readonly string[]): void {
  const occurrences = template.reduce((sum, arg) => sum + arg.split(ITERATIONS_PLACEHOLDER).length - 1, 0);
  if (occurrences !== 1) {
    throw new Error(
      `the command template must contain ${ITERATIONS_PLACEHOLDER} exactly once (found ${occurrences} in ${JSON.stringify(template)}), ` +
        `e.g. ["target/release/app", "bench", "--iterations", "${ITERATIONS_PLACEHOLDER}"]`,
    );
  }
}

async function gateRun(template: readonly string[], iterations: number, options: AllocationGateOptions): Promise<AllocationRun> {
  const argv = template.map((arg) => arg.replace(ITERATIONS_PLACEHOLDER, String(iterations)));
  const { stderr, ...count } = await runCounted(argv, { library: options.library, cwd: options.cwd, timeoutMs: options.timeoutMs });
  if (count.exitCode !== 0) throw new Error(`${argv.join(" ")} exited with code ${count.exitCode}${tail(stderr)}`);
  return { iterations, ...count };
}
