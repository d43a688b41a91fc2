/**
 * What one run of the bench command wrote, read through the step's runner in
 * one command, so it reads the same on the host and in a container (where the
 * files live in a cache volume and cannot be exported): the Bencher JSON at
 * `$SHRIVEN_BENCH_JSON`, and the criterion results of this run.
 *
 * Criterion (0.3 to 0.7, `analysis/mod.rs`) writes each benchmark's
 * `<home>/<directory_name>/new/{benchmark,estimates,sample,tukey}.json` after
 * measuring it, then copies them to `base/` (or the `--save-baseline` name);
 * `directory_name` is the group, function and value, each made filename-safe
 * (`report.rs`). It never removes the `new/` of a benchmark that no longer
 * exists or did not run this time (a filter, another package). So a result
 * counts only when its files are newer than a marker the pipeline touches just
 * before the run, on the same file system: timestamps of one kernel, no clock
 * of ours involved. The first write comes after cargo has started and checked
 * the build, far longer than the file system's timestamp granularity.
 *
 * The listing is POSIX `find` and `sh` (no `-printf`, no GNU options), so a
 * host run works on any Unix. Links are not followed below `home` (`find -H`
 * follows `home` itself only): a link cannot loop or lead out of the folder,
 * and a link where criterion writes a result is an error.
 */
import { posix } from "node:path";
import type { Command } from "../core/command.js";
import { ConfigError, PipelineError } from "../core/errors.js";
import { CRITERION_FILES, type CriterionFile, type Measurement, parseCriterionResult } from "./bench-results.js";

/**
 * Largest result file read, in bytes. Criterion writes a few KB per benchmark
 * (`sample.json` of 1000 samples is about 45 KB); anything far larger is not
 * its output.
 */
export const MAX_RESULT_BYTES = 1024 * 1024;

/** The files of one bench run, as the commands see them (absolute paths). */
export interface BenchRunPaths {
  /** `$SHRIVEN_BENCH_JSON`. */
  readonly bencherFile: string;
  /** Criterion's output folder (`CRITERION_HOME`). */
  readonly criterionHome: string;
  /** Touched just before the run; results newer than it are this run's. */
  readonly marker: string;
}

/** One benchmark criterion measured in this run. */
export interface CriterionResult {
  readonly measurement: Measurement;
  /** The benchmark's folder (the parent of its `new/`), as the commands see it. */
  readonly directory: string;
}

/** What one run wrote. */
export interface BenchOutput {
  /** The Bencher JSON file, when the run wrote one. */
  readonly bencher?: { readonly path: string; readonly text: string };
  /** The benchmarks criterion measured in this run, sorted by id. */
  readonly criterion: readonly CriterionResult[];
  /** Benchmark folders under the criterion home (relative to it) whose `new/` is from an earlier run: not counted. */
  readonly notRun: readonly string[];
  /** Baselines criterion holds under its home: `base` and the names given to `--save-baseline`. */
  readonly savedBaselines: readonly string[];
}

/** The listing could not be read as the collect command writes it. */
export class BenchOutputError extends PipelineError {
  override readonly name: string = "BenchOutputError";
}

/**
 * Prints one record per file, `<kind> <path bytes> <size> <0|1>\n<path>[content]`,
 * then `END`. Kinds: B the Bencher JSON, N a criterion file in a `new/` folder
 * newer than the marker, O any other criterion file (path only), S a link
 * named like a criterion file or `new` (path only). Content follows when the
 * last field is 1 (not over the size limit). Sizes and path lengths are bytes
 * (`LC_ALL=C`).
 */
const EMIT = `set -e
kind=$1 limit=$2
shift 2
for f do
  if [ "$kind" = O ] || [ "$kind" = S ]; then
    printf '%s %d 0 0\\n%s' "$kind" "\${#f}" "$f"
    continue
  fi
  size=$(wc -c < "$f")
  size=$((size))
  if [ "$size" -gt "$limit" ]; then
    printf '%s %d %d 0\\n%s' "$kind" "\${#f}" "$size" "$f"
  else
    printf '%s %d %d 1\\n%s' "$kind" "\${#f}" "$size" "$f"
    cat "$f"
  fi
done`;

const MAIN = `set -e
emit=$1 limit=$2 bencher=$3 home=$4 marker=$5
if [ -f "$bencher" ]; then sh -c "$emit" sh B "$limit" "$bencher"; fi
if [ -d "$home" ]; then
  find -H "$home" \\( -name benchmark.json -o -name estimates.json -o -name sample.json -o -name new \\) \\( \\
    -type l -exec sh -c "$emit" sh S "$limit" {} + -o \\
    -type f \\( -path '*/new/benchmark.json' -o -path '*/new/estimates.json' -o -path '*/new/sample.json' \\) -newer "$marker" \\
      -exec sh -c "$emit" sh N "$limit" {} + -o \\
    -type f -exec sh -c "$emit" sh O "$limit" {} + \\)
fi
printf END`;

/** The command that lists what a run wrote (see {@link parseBenchOutput}); it needs the cache holding the files. */
export function collectCommand(paths: BenchRunPaths): Pick<Command, "argv" | "env"> {
  return {
    argv: ["sh", "-c", MAIN, "sh", EMIT, String(MAX_RESULT_BYTES), paths.bencherFile, paths.criterionHome, paths.marker],
    env: { LC_ALL: "C" },
  };
}

interface ListedFile {
  readonly kind: "B" | "N" | "O" | "S";
  readonly path: string;
  readonly size: number;
  readonly text?: string;
}

const HEADER = /^([BNOS]) (\d+) (\d+) ([01])$/;

/**
 * Splits the collect command's output into files. The runner hands stdout
 * over as UTF-8 text, so it is encoded back to count bytes; a file that was
 * not valid UTF-8 comes back with U+FFFD in it and is refused (criterion
 * writes UTF-8 JSON), before the shifted bytes after it are read.
 */
function listedFiles(stdout: string, display: (path: string) => string): ListedFile[] {
  const bytes = Buffer.from(stdout, "utf8");
  const files: ListedFile[] = [];
  let at = 0;
  while (!(bytes.length - at === 3 && bytes.toString("latin1", at) === "END")) {
    const newline = bytes.indexOf(0x0a, at);
    const header = HEADER.exec(newline < 0 ? "" : bytes.subarray(at, newline).toString("latin1"));
    if (header === null) throw new BenchOutputError(`unexpected listing of the results at byte ${at} (truncated output?)`);
    const [, kind, pathBytes, size, included] = header;
    const pathEnd = newline + 1 + Number(pathBytes);
    const path = bytes.subarray(newline + 1, pathEnd).toString("utf8");
    const contentEnd = included === "1" ? pathEnd + Number(size) : pathEnd;
    if (contentEnd > bytes.length)
      throw new BenchOutputError(`the listing of the results ends inside ${display(path)} (truncated output?)`);
    const file: ListedFile = { kind: kind as ListedFile["kind"], path, size: Number(size) };
    if (included === "1") {
      const text = bytes.subarray(pathEnd, contentEnd).toString("utf8");
      if (text.includes("\uFFFD")) throw new ConfigError(display(path), ["is not valid UTF-8 text (criterion and Bencher JSON are UTF-8)"]);
      files.push({ ...file, text });
    } else files.push(file);
    at = contentEnd;
  }
  return files;
}

/** The file's text, or a {@link ConfigError} naming it when it was over the size limit. */
function textOf(file: ListedFile, display: (path: string) => string): string {
  if (file.text === undefined)
    throw new ConfigError(display(file.path), [
      `file is ${file.size} bytes; at most ${MAX_RESULT_BYTES} expected (benchmark results take a few KB)`,
    ]);
  return file.text;
}

/** A `new/` folder's files: those written in this run, and those left from an earlier one. */
interface NewFolder {
  readonly fresh: Map<CriterionFile, ListedFile>;
  readonly stale: Set<CriterionFile>;
}

function isCriterionFile(name: string): name is CriterionFile {
  return (CRITERION_FILES as readonly string[]).includes(name);
}

/**
 * Reads the collect command's output.
 * @param display Turns a path as the commands see it into the one errors name (workspace-relative).
 * @throws ConfigError naming the file and field of a malformed result, a
 *   result only partly rewritten by this run, an oversized file or a link
 *   where criterion writes; BenchOutputError when the listing itself is cut short.
 */
export function parseBenchOutput(stdout: string, paths: BenchRunPaths, display: (path: string) => string): BenchOutput {
  const folders = new Map<string, NewFolder>();
  const savedBaselines = new Set<string>();
  let bencher: BenchOutput["bencher"];
  for (const file of listedFiles(stdout, display)) {
    if (file.kind === "B") {
      bencher = { path: file.path, text: textOf(file, display) };
      continue;
    }
    const folder = posix.dirname(file.path);
    const name = posix.basename(file.path);
    if (file.kind === "S") {
      if (name === "new" || posix.basename(folder) === "new")
        throw new ConfigError(display(file.path), [
          "is a symbolic link; criterion writes plain files and folders here, and the gate does not follow links (one can loop or lead out of the target folder)",
        ]);
      continue;
    }
    if (!isCriterionFile(name)) continue;
    if (posix.basename(folder) !== "new") {
      if (name === "benchmark.json") savedBaselines.add(posix.basename(folder));
      continue;
    }
    const entry = folders.get(folder) ?? { fresh: new Map(), stale: new Set() };
    if (file.kind === "N") entry.fresh.set(name, file);
    else entry.stale.add(name);
    folders.set(folder, entry);
  }
  const criterion: CriterionResult[] = [];
  const notRun: string[] = [];
  for (const [folder, entry] of [...folders].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const directory = posix.dirname(folder);
    if (entry.fresh.size === 0) {
      notRun.push(posix.relative(paths.criterionHome, directory));
      continue;
    }
    const measurement = parseCriterionResult((name) => {
      const path = posix.join(folder, name);
      const file = entry.fresh.get(name);
      if (file !== undefined) return { path: display(path), text: textOf(file, display) };
      const written = [...entry.fresh.keys()].join(", ");
      throw new ConfigError(display(path), [
        entry.stale.has(name)
          ? `is from an earlier run, while ${written} ${entry.fresh.size === 1 ? "is" : "are"} from this one: criterion stopped before finishing this benchmark`
          : `file not found, while ${written} ${entry.fresh.size === 1 ? "was" : "were"} written by this run`,
      ]);
    });
    criterion.push({ measurement, directory });
  }
  const seen = new Map<string, string>();
  const duplicates: string[] = [];
  for (const { measurement, directory } of criterion) {
    const other = seen.get(measurement.id);
    if (other !== undefined)
      duplicates.push(`${measurement.id}: benchmark id written to both ${display(other)} and ${display(directory)} in this run`);
    seen.set(measurement.id, directory);
  }
  if (duplicates.length > 0) throw new ConfigError(display(paths.criterionHome), duplicates);
  criterion.sort((a, b) => (a.measurement.id < b.measurement.id ? -1 : a.measurement.id > b.measurement.id ? 1 : 0));
  return { ...(bencher === undefined ? {} : { bencher }), criterion, notRun, savedBaselines: [...savedBaselines].sort() };
}
