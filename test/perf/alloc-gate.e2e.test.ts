import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allocationVerdict, buildAllocCounter, countAllocations, runAllocationGate } from "../../src/perf/alloc-gate.js";
import { buildExampleEngine, copyExample } from "../helpers/example.js";

/** Exactly three allocations of 1000 + 10×100 + 3000 bytes, no stdio (compiled with -O0, so none is folded away). */
const EXACT = `
#include <stdlib.h>
int main(int argc, char **argv) {
  void *a = malloc(1000);
  void *b = calloc(10, 100);
  a = realloc(a, 3000);
  free(a);
  free(b);
  return argc > 1 ? atoi(argv[1]) : 0;
}
`;

/** One malloc per iteration (stored to a volatile so it cannot be optimised away). */
const PER_ITERATION = `
#include <stdlib.h>
int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 0;
  void *volatile sink;
  for (long i = 0; i < n; i++) {
    sink = malloc(32);
    free(sink);
  }
  return 0;
}
`;

/** Allocates only at start-up, then works on that buffer. */
const STARTUP_ONLY = `
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 0;
  unsigned long *buffer = calloc(64, sizeof *buffer);
  if (!buffer) return 1;
  unsigned long sum = 0;
  for (long i = 0; i < n; i++) {
    buffer[i % 64] += (unsigned long)i;
    sum ^= buffer[(i * 7) % 64];
  }
  printf("checksum=%lu\\n", sum);
  free(buffer);
  return 0;
}
`;

let dir: string;
let library: string;
const programs: Record<string, string> = {};

function program(name: string): string {
  const path = programs[name];
  if (path === undefined) throw new Error(`test program ${name} was not compiled`);
  return path;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "shriven-allocgate-"));
  library = await buildAllocCounter(join(dir, "lib"));
  for (const [name, source] of Object.entries({ exact: EXACT, perIteration: PER_ITERATION, startupOnly: STARTUP_ONLY })) {
    writeFileSync(join(dir, `${name}.c`), source);
    execFileSync("cc", ["-O0", "-o", join(dir, name), join(dir, `${name}.c`)]);
    programs[name] = join(dir, name);
  }
}, 60_000);

afterAll(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe("allocation counter", () => {
  it("builds once and reuses a library newer than its source", async () => {
    expect(library).toBe(join(dir, "lib", "libshriven_alloc.so"));
    const built = statSync(library).mtimeMs;
    expect(await buildAllocCounter(join(dir, "lib"))).toBe(library);
    expect(statSync(library).mtimeMs).toBe(built);
  });

  it("counts malloc, calloc and realloc calls and their bytes exactly", async () => {
    const count = await countAllocations([program("exact")], { library, timeoutMs: 10_000 });
    expect(count).toEqual({ allocations: 3, bytes: 5_000, exitCode: 0 });
    expect(await countAllocations([program("exact"), "3"], { library, timeoutMs: 10_000 })).toMatchObject({ exitCode: 3 });
  });

  it("explains a missing library and a command that cannot start", async () => {
    await expect(countAllocations([program("exact")], { library: join(dir, "nope.so"), timeoutMs: 10_000 })).rejects.toThrow(
      /allocation counter library not found .*buildAllocCounter/,
    );
    await expect(countAllocations([join(dir, "missing")], { library, timeoutMs: 10_000 })).rejects.toThrow(/could not be started/);
  });
});

describe("allocationVerdict", () => {
  it("fails one allocation per iteration with both counts in the message", () => {
    const verdict = allocationVerdict({ iterations: 10_000, allocations: 10_012 }, { iterations: 20_000, allocations: 20_012 });
    expect(verdict).toEqual({
      ok: false,
      perIteration: 1,
      message: "hot path allocates 1.00 times per iteration (N=10000: 10012 allocations, 2N=20000: 20012)",
    });
  });

  it("passes constant allocations and growth within the tolerance", () => {
    const flat = allocationVerdict({ iterations: 10_000, allocations: 153 }, { iterations: 20_000, allocations: 153 });
    expect(flat).toEqual({
      ok: true,
      perIteration: 0,
      message: "no allocations grow with iterations (N=10000: 153 allocations, 2N=20000: 153)",
    });
    const slight = allocationVerdict({ iterations: 10_000, allocations: 153 }, { iterations: 20_000, allocations: 203 });
    expect(slight.ok).toBe(true);
    expect(slight.message).toMatch(/allocations grow by 0\.0050 per iteration, within the tolerance of 0\.01/);
    expect(
      allocationVerdict({ iterations: 10_000, allocations: 153 }, { iterations: 20_000, allocations: 203 }, { tolerancePerIteration: 0 })
        .ok,
    ).toBe(false);
  });

  it("rejects runs that cannot be compared", () => {
    expect(() => allocationVerdict({ iterations: 100, allocations: 1 }, { iterations: 100, allocations: 1 })).toThrow(
      /second run needs more iterations than the first \(N=100, 2N=100\)/,
    );
    expect(() => allocationVerdict({ iterations: 100, allocations: -1 }, { iterations: 200, allocations: 1 })).toThrow(
      /N\.allocations must be a non-negative integer/,
    );
  });
});

describe("runAllocationGate on C programs", () => {
  it("fails a program that mallocs once per iteration", async () => {
    const result = await runAllocationGate([program("perIteration"), "{iterations}"], { iterations: 10_000, library, timeoutMs: 30_000 });
    expect(result.ok).toBe(false);
    expect(result.perIteration).toBeCloseTo(1, 2);
    expect(result.message).toMatch(/^hot path allocates 1\.00 times per iteration \(N=10000: \d+ allocations, 2N=20000: \d+\)$/);
    expect(result.at2N.allocations - result.atN.allocations).toBe(10_000);
    expect(result.at2N.bytes - result.atN.bytes).toBe(320_000);
  });

  it("passes a program that allocates only at start-up", async () => {
    const result = await runAllocationGate([program("startupOnly"), "{iterations}"], { iterations: 10_000, library, timeoutMs: 30_000 });
    expect(result).toMatchObject({ ok: true, perIteration: 0, atN: { iterations: 10_000, exitCode: 0 }, at2N: { iterations: 20_000 } });
    expect(result.atN.allocations).toBeGreaterThan(0);
    expect(result.message).toMatch(/^no allocations grow with iterations/);
  });

  it("rejects a template without exactly one {iterations}", async () => {
    const options = { iterations: 10, library, timeoutMs: 10_000 };
    await expect(runAllocationGate([program("perIteration"), "100"], options)).rejects.toThrow(
      /must contain \{iterations\} exactly once \(found 0/,
    );
    await expect(runAllocationGate([program("perIteration"), "{iterations}", "{iterations}"], options)).rejects.toThrow(/found 2/);
    await expect(runAllocationGate([program("perIteration"), "{iterations}"], { ...options, iterations: 0 })).rejects.toThrow(
      /iterations must be a positive integer/,
    );
  });

  it("reports a run that exits non-zero", async () => {
    await expect(runAllocationGate([program("exact"), "{iterations}"], { iterations: 7, library, timeoutMs: 10_000 })).rejects.toThrow(
      /exact 7 exited with code 7/,
    );
  });
});

/** The loop header of the example's hot path; the allocating variant injects below it. */
const HOT_LOOP = "    for event in sim.by_ref().take(iterations) {\n";
const HOTPATH_FILE = "crates/engine/src/hotpath.rs";

describe("runAllocationGate on the example engine's hot path", () => {
  it("passes: the hot path does not allocate per iteration", async () => {
    const binary = await buildExampleEngine(copyExample(mkdtempSync(join(dir, "clean-"))));
    const result = await runAllocationGate([binary, "hotpath", "--iterations", "{iterations}"], {
      iterations: 20_000,
      library,
      timeoutMs: 60_000,
    });
    expect(result.ok, result.message).toBe(true);
    expect(result.message).toMatch(/^no allocations grow with iterations \(N=20000: \d+ allocations, 2N=40000: \d+\)$/);
  }, 300_000);

  it("fails when the hot path allocates a Vec per iteration", async () => {
    const workspace = copyExample(mkdtempSync(join(dir, "allocating-")));
    const file = join(workspace, HOTPATH_FILE);
    const source = readFileSync(file, "utf8");
    expect(source.split(HOT_LOOP)).toHaveLength(2);
    const injected = "        let _v: Vec<u64> = Vec::with_capacity(8);\n        std::hint::black_box(&_v);\n";
    writeFileSync(file, source.replace(HOT_LOOP, HOT_LOOP + injected));
    const binary = await buildExampleEngine(workspace);
    const result = await runAllocationGate([binary, "hotpath", "--iterations", "{iterations}"], {
      iterations: 20_000,
      library,
      timeoutMs: 60_000,
    });
    expect(result.ok).toBe(false);
    expect(result.perIteration).toBeCloseTo(1, 2);
    expect(result.message).toMatch(/^hot path allocates 1\.00 times per iteration \(N=20000: \d+ allocations, 2N=40000: \d+\)$/);
  }, 300_000);
});
