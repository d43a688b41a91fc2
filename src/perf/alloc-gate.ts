/**
 * Allocation gate: checks that a hot path does not allocate per iteration.
 *
 * The command runs twice under an LD_PRELOAD allocation counter
 * (`native/alloc-counter.c`), once with N and once with 2N iterations. Set-up
 * and shutdown allocate the same in both runs, so the difference divided by
 * the extra iterations is what one iteration allocates; a hot path that reuses
 * its buffers scores 0.
 *
 * The counter is compiled, and each run made, by commands of the step's
 * runner (`exec`): the step's abort signal and time limit apply, and the
 * output goes to its log. A run is supervised (supervised-command.ts), which
 * preloads the counter, enforces the gate's own time limit and prints the report.
 */
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { commandRunner, GateRunError, outputTail, type RunCommand, stoppedByRunner } from "./run-command.js";
import { readSupervisedRun, supervisedCommand } from "./supervised-command.js";

/** File name of the compiled allocation counter. */
export const ALLOC_COUNTER_LIBRARY = "libshriven_alloc.so";

/** Placeholder in a gate's command template that receives the iteration count. */
export const ITERATIONS_PLACEHOLDER = "{iterations}";

/** The variable that hands the counter's C source to the compile command (no file of this package need be visible to the runner). */
const SOURCE_VARIABLE = "SHRIVEN_ALLOC_COUNTER_SOURCE";

/** How the counter is compiled, for messages. */
const COMPILE = `cc -shared -fPIC -O2 -o ${ALLOC_COUNTER_LIBRARY} alloc-counter.c -ldl -pthread`;

/**
 * Compiles in the folder `$1` unless the library there was built from the same source (kept beside it as
 * alloc-counter.c), then prints the library's absolute path. Written under temporary names and renamed, so
 * concurrent builds never expose a half-written library.
 */
const BUILD_SCRIPT = `
mkdir -p "$1" && cd "$1" || exit 1
if [ -f ${ALLOC_COUNTER_LIBRARY} ] && printf '%s' "$${SOURCE_VARIABLE}" | cmp -s - alloc-counter.c; then
  echo "shriven-alloc-counter: $PWD/${ALLOC_COUNTER_LIBRARY}"
  exit 0
fi
partial=alloc-counter.$$
printf '%s' "$${SOURCE_VARIABLE}" > "$partial.c" && cc -shared -fPIC -O2 -o "$partial.so" "$partial.c" -ldl -pthread ||
  { status=$?; rm -f "$partial.c" "$partial.so"; exit "$status"; }
mv -f "$partial.so" ${ALLOC_COUNTER_LIBRARY} && mv -f "$partial.c" alloc-counter.c &&
  echo "shriven-alloc-counter: $PWD/${ALLOC_COUNTER_LIBRARY}"
`;

/** Options of {@link buildAllocCounter}. */
export interface BuildAllocCounterOptions {
  /** Runs the compile command; a step passes `context.exec`. Default: on the host, in the current directory. */
  readonly exec?: RunCommand;
}

/**
 * Compiles the allocation counter into `<outDir>/libshriven_alloc.so` with
 * `cc -shared -fPIC -O2 … -ldl -pthread`, as a command of `exec` (`outDir`
 * relative to the command's working directory), and returns the library's
 * absolute path as the commands see it. A library built from the same
 * source is reused.
 *
 * @throws GateRunError when the C source is missing or `cc` fails (with its output).
 */
export async function buildAllocCounter(outDir: string, options: BuildAllocCounterOptions = {}): Promise<string> {
  const sourcePath = fileURLToPath(new URL("./native/alloc-counter.c", import.meta.url));
  let source: string;
  try {
    source = await readFile(sourcePath, "utf8");
  } catch {
    throw new GateRunError(`allocation counter source not found at ${sourcePath}: is src/perf/native shipped alongside this module?`);
  }
  const result = await commandRunner(options.exec)({
    argv: ["sh", "-c", BUILD_SCRIPT, "sh", outDir],
    env: { [SOURCE_VARIABLE]: source },
  });
  const stopped = stoppedByRunner(result, "cc");
  if (stopped !== undefined) throw stopped;
  const library = /^shriven-alloc-counter: (.+)$/m.exec(result.stdout)?.[1];
  if (result.exitCode !== 0 || library === undefined) {
    throw new GateRunError(`cannot compile the allocation counter (${COMPILE}; is a C compiler installed as cc?):\n${result.output}`);
  }
  return library;
}

/** Options of {@link countAllocations}. */
export interface CountAllocationsOptions {
  /** Path of the counter built by {@link buildAllocCounter}. */
  readonly library: string;
  /** Runs the command; a step passes `context.exec`. Default: on the host, in the current directory. */
  readonly exec?: RunCommand;
  /** The command's own variables, on top of the toolchain's (the runner's workspace environment). */
  readonly env?: Readonly<Record<string, string>>;
  /** The command is stopped when it runs longer, which is an error. */
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

/** How often a counted run is looked at (for its time limit). */
const COUNTED_RUN_INTERVAL_MS = 50;

/**
 * Runs `argv` (no shell of its own, through `exec`) with the allocation counter preloaded and returns
 * how often and how much the process allocated through malloc, calloc and
 * realloc. Processes it execs also load the counter and may replace the
 * report, so run the program directly rather than through a wrapper.
 *
 * @throws GateRunError when the library is missing, the command cannot be started, times out, dies from a
 *   signal, or writes no report (e.g. a static binary, which ignores LD_PRELOAD).
 */
export async function countAllocations(argv: string[], options: CountAllocationsOptions): Promise<AllocationCount> {
  const { allocations, bytes, exitCode } = await runCounted(argv, options);
  return { allocations, bytes, exitCode };
}

async function runCounted(argv: string[], options: CountAllocationsOptions): Promise<CountedRun> {
  const [file] = argv;
  if (file === undefined || file === "") throw new Error("countAllocations: argv must name a command (argv[0])");
  const command = supervisedCommand(argv, {
    intervalMs: COUNTED_RUN_INTERVAL_MS,
    timeoutMs: options.timeoutMs,
    preload: options.library,
    ...(options.env === undefined ? {} : { env: options.env }),
  });
  const run = readSupervisedRun(await commandRunner(options.exec)(command), file);
  if (run.notStarted === "library")
    throw new GateRunError(`allocation counter library not found at ${options.library}: build it with buildAllocCounter()`);
  if (run.notStarted === "program") throw new GateRunError(`${file} could not be started: not found or not executable`);
  if (run.timedOut) throw new GateRunError(`${file} timed out after ${options.timeoutMs} ms under the allocation counter`);
  if (run.exitCode === null) throw new GateRunError(`${file} was killed by ${run.signal}${outputTail(run.output)}`);
  return { ...readReport(run.allocationReport, file), exitCode: run.exitCode, stderr: run.output };
}

function readReport(text: string | undefined, file: string): { allocations: number; bytes: number } {
  if (text === undefined) {
    throw new GateRunError(
      `${file} wrote no allocation report: it must be dynamically linked against libc (LD_PRELOAD is ignored by static binaries) and exit normally (not via _exit or a signal)`,
    );
  }
  const match = /^allocations=(\d+) bytes=(\d+)$/m.exec(text);
  if (match?.[1] === undefined || match[2] === undefined)
    throw new GateRunError(`malformed allocation report from ${file}: ${JSON.stringify(text)}`);
  return { allocations: Number(match[1]), bytes: Number(match[2]) };
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
  /** Runs each run's command; a step passes `context.exec`. Default: on the host, in the current directory. */
  readonly exec?: RunCommand;
  /** The command's own variables (the environment profile's), on top of the toolchain's. */
  readonly env?: Readonly<Record<string, string>>;
  /** Time limit of each run (the gate's own: a run past it is an error). */
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
  const { stderr, ...count } = await runCounted(argv, {
    library: options.library,
    timeoutMs: options.timeoutMs,
    ...(options.exec === undefined ? {} : { exec: options.exec }),
    ...(options.env === undefined ? {} : { env: options.env }),
  });
  if (count.exitCode !== 0) throw new GateRunError(`${argv.join(" ")} exited with code ${count.exitCode}${outputTail(stderr)}`);
  return { iterations, ...count };
}
