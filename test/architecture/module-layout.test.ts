/**
 * The Dagger TypeScript runtime imports every .ts file under src/, so none
 * may do anything at import time; and dagger.json pins the engine to the SDK
 * this package installs.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it, vi } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith(".ts") ? [join(dir, entry.name)] : [],
  );
}

describe("module layout", () => {
  it("imports every file under src/ without output, timers or signal handlers", async () => {
    const write = vi.spyOn(process.stdout, "write");
    const writeErr = vi.spyOn(process.stderr, "write");
    const consoles = (["log", "info", "warn", "error", "debug"] as const).map((m) => vi.spyOn(console, m));
    const timers = vi.spyOn(globalThis, "setTimeout");
    const intervals = vi.spyOn(globalThis, "setInterval");
    const listeners = ["SIGINT", "SIGTERM", "exit"].map((e) => process.listenerCount(e));
    const files = sourceFiles(join(ROOT, "src"));
    expect(files.length).toBeGreaterThan(20);
    for (const file of files) await import(pathToFileURL(file).href);
    expect(write).not.toHaveBeenCalled();
    expect(writeErr).not.toHaveBeenCalled();
    for (const spy of consoles) expect(spy).not.toHaveBeenCalled();
    expect(timers).not.toHaveBeenCalled();
    expect(intervals).not.toHaveBeenCalled();
    expect(["SIGINT", "SIGTERM", "exit"].map((e) => process.listenerCount(e))).toEqual(listeners);
    vi.restoreAllMocks();
  });

  it("keeps tests out of src/ and the CLI's entry point in bin/", () => {
    expect(sourceFiles(join(ROOT, "src")).filter((f) => /\.(test|spec)\.ts$/.test(f))).toEqual([]);
    expect(readFileSync(join(ROOT, "bin/shriven-pipeline.js"), "utf8")).toMatch(/^#!\/usr\/bin\/env node\n/);
  });

  it("declares the Dagger module at the root with the engine pinned to the installed SDK", () => {
    const dagger = JSON.parse(readFileSync(join(ROOT, "dagger.json"), "utf8"));
    const sdk = JSON.parse(readFileSync(join(ROOT, "node_modules/@dagger.io/dagger/package.json"), "utf8"));
    const manifest = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
    expect(dagger).toMatchObject({ name: "shriven-pipeline", sdk: { source: "typescript" }, source: "." });
    expect(dagger.engineVersion).toBe(`v${sdk.version}`);
    expect(dagger.include).toEqual(expect.arrayContaining(["!examples", "!test", "!bench", "!dagger", "!node_modules"]));
    expect(manifest.dependencies["@dagger.io/dagger"]).toBe(sdk.version);
    expect(manifest.type).toBe("module");
    expect(manifest.bin).toEqual({ "shriven-pipeline": "bin/shriven-pipeline.js" });
    expect(manifest.engines.node).toBe(">=20");
  });
});
