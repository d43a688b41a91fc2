/**
 * A program run under a small POSIX sh supervisor, which is the command the
 * runner executes: it starts the program in the background, looks at
 * `/proc/<pid>/status` every interval (printing the resident set size when
 * asked), stops the program at its own deadline (SIGTERM, SIGKILL 2 s later)
 * and prints how it ended. With an allocation counter it preloads the library
 * into the program and prints the counter's report.
 *
 * The supervisor prints only its own lines on stdout; the program's stdout
 * and stderr both go to stderr, so they reach the step's log and cannot be
 * mistaken for the supervisor's lines. Linux only (`/proc`); `sleep` must take
 * fractions of a second (GNU coreutils and BusyBox do).
 */
import { constants } from "node:os";
import type { Command, ExecResult } from "../core/command.js";
import type { RssSample } from "./memory-growth.js";
import { GateRunError, outputTail, stoppedByRunner } from "./run-command.js";

/** Options of {@link supervisedCommand}. */
export interface SupervisedCommandOptions {
  /** Pause between two looks at the program, in ms (> 0). */
  readonly intervalMs: number;
  /** The supervisor stops the program when it runs longer, in ms (> 0). */
  readonly timeoutMs: number;
  /** Print the program's RSS at every look. */
  readonly sampleRss?: boolean;
  /** An allocation counter library to preload into the program (`LD_PRELOAD`), whose report is printed at the end. */
  readonly preload?: string;
  /** The program's own variables (the environment profile's). */
  readonly env?: Readonly<Record<string, string>>;
}

/** How a supervised program ended, read from the supervisor's lines. */
export interface SupervisedRun {
  /** What was missing when the program could not be started. */
  readonly notStarted?: "program" | "library";
  /** Exit code, or null when the program died from a signal. */
  readonly exitCode: number | null;
  /** The signal's name (`SIGTERM`) when it died from one. */
  readonly signal?: string;
  /** The supervisor stopped it at its deadline. */
  readonly timedOut: boolean;
  /** RSS samples, `atMs` relative to the first (10 ms resolution: `/proc/uptime`). */
  readonly samples: RssSample[];
  /** The allocation counter's report, when one was written. */
  readonly allocationReport?: string;
  /** What the program wrote on stdout and stderr. */
  readonly output: string;
}

/** Grace between SIGTERM and SIGKILL when the supervisor stops the program, in tenths of a second (2 s). */
const KILL_GRACE_TENTHS = 20;

const SUPERVISOR = `
interval=$1 limit=$2 sample=$3 library=$4
shift 4
rss_of() { rss=$(exec 2>/dev/null; while read -r key value _; do [ "$key" = VmRSS: ] && echo "$value"; done < "/proc/$1/status"); }
uptime_cs() { read -r up _ < /proc/uptime; up=\${up%.*}\${up#*.}; up=\${up#"\${up%%[!0]*}"}; now=\${up:-0}; }
report=
trap 'rm -f "$report"' EXIT
trap 'exit 143' TERM
trap 'exit 129' HUP
trap 'exit 130' INT
if [ -n "$library" ]; then
  [ -f "$library" ] || { echo "shriven-supervisor: not-started library"; exit 0; }
  report=$(mktemp "\${TMPDIR:-/tmp}/shriven-alloc.XXXXXX") || exit 1
fi
case $1 in
  */*) [ -f "$1" ] && [ -x "$1" ] ;;
  *) command -v "$1" >/dev/null 2>&1 ;;
esac || { echo "shriven-supervisor: not-started program"; exit 0; }
if [ -n "$library" ]; then LD_PRELOAD=$library SHRIVEN_ALLOC_OUT=$report "$@" >&2 & else "$@" >&2 & fi
pid=$!
uptime_cs
deadline=$((now + limit))
timed_out=
while rss_of "$pid"; [ -n "$rss" ]; do
  uptime_cs
  [ "$sample" = 1 ] && echo "shriven-supervisor: rss $now $rss"
  if [ "$now" -ge "$deadline" ]; then
    timed_out=" timed-out"
    kill -TERM "$pid" 2>/dev/null
    tries=0
    while rss_of "$pid"; [ -n "$rss" ] && [ "$tries" -lt ${KILL_GRACE_TENTHS} ]; do sleep 0.1; tries=$((tries + 1)); done
    kill -KILL "$pid" 2>/dev/null
    break
  fi
  sleep "$interval"
done
wait "$pid"
echo "shriven-supervisor: exit $?$timed_out"
[ -z "$report" ] || echo "shriven-supervisor: report $(cat "$report")"
`;

/**
 * The command that runs `argv` (no shell of its own; `argv[0]` found on
 * `PATH` unless it holds a `/`) under the supervisor.
 *
 * @throws Error for an empty argv or an interval or time limit that is not a positive number.
 */
export function supervisedCommand(argv: readonly string[], options: SupervisedCommandOptions): Command {
  if (argv[0] === undefined || argv[0] === "") throw new Error("argv must name a command (argv[0])");
  for (const [name, value] of [
    ["intervalMs", options.intervalMs],
    ["timeoutMs", options.timeoutMs],
  ] as const) {
    if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number of milliseconds, got ${value}`);
  }
  const intervalSeconds = (Math.max(1, options.intervalMs) / 1000).toFixed(3);
  const limitCentiseconds = String(Math.ceil(options.timeoutMs / 10));
  return {
    argv: [
      "sh",
      "-c",
      SUPERVISOR,
      "sh",
      intervalSeconds,
      limitCentiseconds,
      options.sampleRss === true ? "1" : "0",
      options.preload ?? "",
      ...argv,
    ],
    ...(options.env === undefined ? {} : { env: options.env }),
  };
}

/**
 * Reads the supervisor's lines from `result`. An exit status above 128 is
 * read as death by signal status − 128, as shells report it.
 *
 * @throws GateRunError when the runner stopped the supervisor, or it ended without saying how the program did.
 */
export function readSupervisedRun(result: ExecResult, program: string): SupervisedRun {
  const stopped = stoppedByRunner(result, program);
  if (stopped !== undefined) throw stopped;
  const lines = result.stdout.split("\n");
  const said = (prefix: string): string | undefined =>
    lines.findLast((line) => line.startsWith(`shriven-supervisor: ${prefix}`))?.slice(`shriven-supervisor: ${prefix}`.length);
  const output = result.stderr;
  const notStarted = said("not-started ");
  if (notStarted === "program" || notStarted === "library") return { notStarted, exitCode: null, timedOut: false, samples: [], output };
  const exit = /^(\d+)( timed-out)?$/.exec(said("exit ") ?? "");
  if (exit?.[1] === undefined) {
    throw new GateRunError(
      `the supervisor of ${program} ended without saying how it did (exit code ${result.exitCode ?? "none"})${outputTail(output)}`,
    );
  }
  const status = Number(exit[1]);
  const report = said("report ");
  return {
    ...(status > 128 ? { exitCode: null, signal: signalName(status - 128) } : { exitCode: status }),
    timedOut: exit[2] !== undefined,
    samples: samplesOf(lines),
    ...(report === undefined || report === "" ? {} : { allocationReport: report }),
    output,
  };
}

function samplesOf(lines: readonly string[]): RssSample[] {
  const readings = lines.flatMap((line) => {
    const match = /^shriven-supervisor: rss (\d+) (\d+)$/.exec(line);
    return match?.[1] === undefined || match[2] === undefined ? [] : [{ centiseconds: Number(match[1]), rssKiB: Number(match[2]) }];
  });
  const first = readings[0]?.centiseconds ?? 0;
  return readings.map(({ centiseconds, rssKiB }) => ({ atMs: (centiseconds - first) * 10, rssKiB }));
}

function signalName(number: number): string {
  return Object.entries(constants.signals).find(([, value]) => value === number)?.[0] ?? `signal ${number}`;
}
