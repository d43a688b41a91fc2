/**
 * Start-up: `--help`, `--version` and `list` load only the CLI's entry (dist/cli.js, the dispatcher and the
 * commands' declarations), not the pipeline. Checked on the build's metafile (dist/meta.json): the modules
 * bundled into the entry and the chunks it imports statically, that is, everything Node loads before a command
 * imports its work (src/cli/actions/) on demand. Not a timing test; bench/startup.ts measures the time.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";

const ROOT = resolve(import.meta.dirname, "../..");
const BIN = resolve(ROOT, "bin/shriven-pipeline.js");

interface Metafile {
  readonly outputs: Record<
    string,
    { readonly imports: readonly { readonly path: string; readonly kind: string }[]; readonly inputs: Record<string, unknown> }
  >;
}

/** Runs the installed command as a process (building dist/ first when it is missing or stale). */
function bin(args: readonly string[]): { code: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", env: { ...process.env, CI: "true" }, timeout: 120_000 });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** The source modules in `output` and in every output it imports statically (not through `import()`). */
function staticInputs(meta: Metafile, output: string): string[] {
  const seen = new Set<string>();
  const pending = [output];
  while (pending.length > 0 && seen.size < 1000) {
    const next = pending.pop() as string;
    if (seen.has(next)) continue;
    seen.add(next);
    const out = meta.outputs[next];
    if (out === undefined) throw new Error(`${next}: not an output of the build`);
    for (const imported of out.imports)
      if (imported.kind === "import-statement" && imported.path.startsWith("dist/")) pending.push(imported.path);
  }
  return [...seen].flatMap((name) => Object.keys(meta.outputs[name]?.inputs ?? {}));
}

/** Modules `--help` and `list` must not load: the config's schemas, the GitHub client, subprocesses, the stages. */
const HEAVY = [
  /node_modules\/zod\//,
  /node_modules\/(@?octokit)/,
  /node_modules\/execa\//,
  /^src\/(stages|steps|config|pipeline\/(?!version))/,
];

describe("start-up of the bundled CLI", () => {
  it("prints the usage, the version and the stage list as the in-process CLI does", async () => {
    for (const args of [["--help"], ["--version"], ["list"]]) {
      const inProcess = await runCli(args);
      expect(bin(args)).toEqual({ code: inProcess.code, stdout: inProcess.stdout, stderr: inProcess.stderr });
    }
  });

  it("loads no schema, GitHub client, subprocess library or stage before a command needs them", () => {
    bin(["--version"]);
    const meta = JSON.parse(readFileSync(resolve(ROOT, "dist/meta.json"), "utf8")) as Metafile;
    const entry = staticInputs(meta, "dist/cli.js");
    expect(entry).toContain("src/cli/main.ts");
    expect(entry).toContain("src/cli/commands/list.ts");
    expect(entry).toContain("src/cli/stage-list.ts");
    expect(entry.filter((input) => HEAVY.some((heavy) => heavy.test(input)))).toEqual([]);
    // The check can fail: the whole build holds them, behind the commands' on-demand imports.
    const all = Object.values(meta.outputs).flatMap((out) => Object.keys(out.inputs));
    for (const heavy of HEAVY) expect(all.some((input) => heavy.test(input))).toBe(true);
    expect(staticInputs(meta, "dist/cli.js").some((input) => input.startsWith("src/cli/actions/"))).toBe(false);
  });
});
