/**
 * Retention: builds older than maxAgeDays (by build.json's builtAt) are pruned,
 * releases never, and anything doubtful is kept and reported.
 */
import { existsSync, mkdirSync, readdirSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { planPrune, prune, RetentionError } from "../../src/release/retention.js";
import { tempDir } from "../helpers/temp.js";

const NOW = new Date("2026-03-01T00:00:00Z");
const DAY = 24 * 60 * 60 * 1000;
const COMMIT = "0123456789abcdef0123456789abcdef01234567";

function daysBefore(days: number): string {
  return new Date(NOW.getTime() - days * DAY).toISOString();
}

/** Writes a build folder `<version>-0123456` with a binary of `binaryBytes` and a build.json (or the raw text given). */
function build(dir: string, version: string, buildJson: string | { builtAt?: unknown; commit?: string }, binaryBytes = 1000): string {
  const folder = `${version}-${COMMIT.slice(0, 7)}`;
  mkdirSync(join(dir, folder), { recursive: true });
  writeFileSync(join(dir, folder, "shriven-engine"), Buffer.alloc(binaryBytes, 1));
  writeFileSync(join(dir, folder, "SHA256SUMS"), "x".repeat(100));
  const text = typeof buildJson === "string" ? buildJson : JSON.stringify({ version, commit: buildJson.commit ?? COMMIT, ...buildJson });
  writeFileSync(join(dir, folder, "build.json"), text);
  return folder;
}

function release(
  dir: string,
  folder: string,
  marker: unknown = { tag: "v0.9.0", releasedAt: "2025-11-01T00:00:00Z", url: "https://github.com/x/y/releases/v0.9.0" },
) {
  writeFileSync(join(dir, folder, "released.json"), JSON.stringify(marker));
}

function buildJsonBytes(version: string, builtAt: string): number {
  return Buffer.byteLength(JSON.stringify({ version, commit: COMMIT, builtAt }));
}

/** An artifacts folder inside a parent that also holds `outside/`, an old build that is not ours to prune. */
function artifacts() {
  const parent = tempDir("shriven-retention-");
  const dir = join(parent, "artifacts");
  mkdirSync(dir);
  const outside = join(parent, "outside");
  build(outside, "0.1.0", { builtAt: daysBefore(400) });
  return { parent, dir, outside };
}

describe("planPrune", () => {
  it("removes old builds only, keeps recent and released ones, and reports the rest", () => {
    const { dir, outside } = artifacts();
    const old = build(dir, "1.0.0", { builtAt: daysBefore(40) }, 1000);
    const justOld = build(dir, "1.0.1", { builtAt: daysBefore(31) }, 2000);
    const boundary = build(dir, "1.0.2", { builtAt: daysBefore(30) });
    const recent = build(dir, "1.1.0", { builtAt: daysBefore(10) });
    const releasedOld = build(dir, "0.9.0", { builtAt: daysBefore(120) });
    release(dir, releasedOld);
    const noBuildJson = "0.8.0-0123456";
    mkdirSync(join(dir, noBuildJson));
    writeFileSync(join(dir, "notes.txt"), "not a build");
    symlinkSync(join(outside, "0.1.0-0123456"), join(dir, "link-out"));
    // File times must not matter: make the recent build's files look ancient, the old one's brand new.
    utimesSync(join(dir, recent, "build.json"), new Date(0), new Date(0));
    utimesSync(join(dir, old, "build.json"), NOW, NOW);

    const plan = planPrune(dir, { now: NOW, maxAgeDays: 30 });

    expect(plan.remove).toEqual([
      { folder: old, builtAt: daysBefore(40), ageDays: 40, bytes: 1000 + 100 + buildJsonBytes("1.0.0", daysBefore(40)) },
      { folder: justOld, builtAt: daysBefore(31), ageDays: 31, bytes: 2000 + 100 + buildJsonBytes("1.0.1", daysBefore(31)) },
    ]);
    expect(plan.keep).toEqual([
      { folder: releasedOld, reason: "released" },
      { folder: boundary, reason: "recent" },
      { folder: recent, reason: "recent" },
    ]);
    expect(plan.problems).toEqual([
      "0.8.0-0123456: no build.json; kept",
      "link-out: is a symbolic link; not followed, left alone",
      "notes.txt: is not a build folder (a file); left alone",
    ]);
  });

  it("defaults maxAgeDays to 30 and honours a smaller one", () => {
    const { dir } = artifacts();
    const folder = build(dir, "1.0.0", { builtAt: daysBefore(20) });
    expect(planPrune(dir, { now: NOW }).keep).toEqual([{ folder, reason: "recent" }]);
    expect(planPrune(dir, { now: NOW, maxAgeDays: 7 }).remove).toEqual([expect.objectContaining({ folder, ageDays: 20 })]);
    expect(planPrune(dir, { now: NOW, maxAgeDays: 0.5 }).remove).toHaveLength(1);
  });

  it("reads builtAt with a time zone offset and fractional ages", () => {
    const { dir } = artifacts();
    // 2026-01-30T12:00:00+06:00 is 2026-01-30T06:00:00Z: 29.75 days before NOW.
    build(dir, "1.0.0", { builtAt: "2026-01-30T12:00:00+06:00" });
    expect(planPrune(dir, { now: NOW, maxAgeDays: 29.5 }).remove).toEqual([expect.objectContaining({ ageDays: 29.75 })]);
    expect(planPrune(dir, { now: NOW, maxAgeDays: 30 }).remove).toEqual([]);
  });

  it.each([
    ["not JSON", "{ version: 1.0.0", /^1\.0\.0-0123456: build\.json is not valid JSON \(.+\); kept$/],
    [
      "missing builtAt",
      JSON.stringify({ version: "1.0.0", commit: COMMIT }),
      /^1\.0\.0-0123456: build\.json: builtAt: expected an RFC 3339 timestamp/,
    ],
    ["builtAt not a string", { builtAt: 1767225600 }, /^1\.0\.0-0123456: build\.json: builtAt: expected an RFC 3339 timestamp/],
    [
      "bad date",
      { builtAt: "2026-02-30T00:00:00Z" },
      /^1\.0\.0-0123456: build\.json: builtAt: expected an RFC 3339 timestamp .*"2026-02-30T00:00:00Z"/,
    ],
    [
      "not RFC 3339",
      { builtAt: "last Tuesday" },
      /^1\.0\.0-0123456: build\.json: builtAt: expected an RFC 3339 timestamp .*"last Tuesday"/,
    ],
    ["future date", { builtAt: "2026-03-02T00:00:00Z" }, /^1\.0\.0-0123456: build\.json: builtAt: 2026-03-02T00:00:00Z is in the future/],
    ["JSON but not an object", "[1, 2]", /^1\.0\.0-0123456: build\.json: \(top level\): expected an object/],
    [
      "commit of another build",
      { builtAt: daysBefore(100), commit: "f".repeat(40) },
      /^1\.0\.0-0123456: build\.json describes 1\.0\.0 at f{40}, which does not match/,
    ],
  ])("a build.json that is %s is reported with the folder name and never removed", (_, buildJson, problem) => {
    const { dir } = artifacts();
    build(dir, "1.0.0", buildJson as string | { builtAt?: unknown });
    const plan = planPrune(dir, { now: NOW });
    expect(plan.remove).toEqual([]);
    expect(plan.keep).toEqual([]);
    expect(plan.problems).toEqual([expect.stringMatching(problem)]);
  });

  it("a build.json that is a symbolic link is not followed", () => {
    const { dir, outside } = artifacts();
    mkdirSync(join(dir, "1.0.0-0123456"));
    symlinkSync(join(outside, "0.1.0-0123456", "build.json"), join(dir, "1.0.0-0123456", "build.json"));
    expect(planPrune(dir, { now: NOW }).problems).toEqual(["1.0.0-0123456: build.json is a symbolic link, not followed; kept"]);
  });

  it("a released build is kept even with a broken build.json or marker, and the doubts are reported", () => {
    const { dir } = artifacts();
    const folder = build(dir, "0.9.0", "broken");
    release(dir, folder, { tag: "v0.9.0" });
    const plan = planPrune(dir, { now: NOW });
    expect(plan.keep).toEqual([{ folder, reason: "released" }]);
    expect(plan.remove).toEqual([]);
    expect(plan.problems).toEqual([
      "0.9.0-0123456: released.json: releasedAt: expected an RFC 3339 timestamp; treated as released",
      "0.9.0-0123456: released.json: url: expected a URL; treated as released",
      expect.stringMatching(/^0\.9\.0-0123456: build\.json is not valid JSON/),
    ]);
  });

  it("a missing artifacts directory means nothing to prune; a file in its place is refused", () => {
    const { parent } = artifacts();
    expect(planPrune(join(parent, "nothing-here"), { now: NOW })).toEqual({ remove: [], keep: [], problems: [] });
    writeFileSync(join(parent, "a-file"), "");
    expect(() => planPrune(join(parent, "a-file"), { now: NOW })).toThrow(/a-file: is not a directory/);
  });

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY])("maxAgeDays %s is refused", (maxAgeDays) => {
    const { dir } = artifacts();
    build(dir, "1.0.0", { builtAt: daysBefore(40) });
    expect(() => planPrune(dir, { now: NOW, maxAgeDays })).toThrow(RetentionError);
    expect(() => planPrune(dir, { now: NOW, maxAgeDays })).toThrow(
      `retention policy: maxAgeDays: is ${maxAgeDays}; expected a positive number of days`,
    );
  });

  it("an invalid now is refused", () => {
    const { dir } = artifacts();
    expect(() => planPrune(dir, { now: new Date(Number.NaN) })).toThrow("retention policy: now: is not a valid date");
  });
});

describe("prune", () => {
  it("removes exactly the planned folders and returns them", () => {
    const { dir, outside } = artifacts();
    const old = build(dir, "1.0.0", { builtAt: daysBefore(40) });
    const recent = build(dir, "1.1.0", { builtAt: daysBefore(10) });
    const releasedOld = build(dir, "0.9.0", { builtAt: daysBefore(120) });
    release(dir, releasedOld);
    mkdirSync(join(dir, "broken-0123456"));
    symlinkSync(join(outside, "0.1.0-0123456"), join(dir, "link-out"));
    // A link inside a removed build must be removed itself, not followed.
    symlinkSync(join(outside, "0.1.0-0123456"), join(dir, old, "link-inside"));

    const plan = planPrune(dir, { now: NOW });
    const removed = prune(plan, dir);

    expect(removed.map((r) => r.folder)).toEqual([old]);
    expect(readdirSync(dir).sort()).toEqual(["0.9.0-0123456", "1.1.0-0123456", "broken-0123456", "link-out"]);
    expect(existsSync(join(dir, recent, "shriven-engine"))).toBe(true);
    expect(readdirSync(join(outside, "0.1.0-0123456")).sort()).toEqual(["SHA256SUMS", "build.json", "shriven-engine"]);
  });

  it.each([
    ["../x", "is not a direct child folder of the artifacts directory"],
    ["..", "is not a direct child folder of the artifacts directory"],
    [".", "is not a direct child folder of the artifacts directory"],
    ["", "is not a folder name"],
    ["a/b", "is not a direct child folder of the artifacts directory"],
    ["/tmp", "is not a direct child folder of the artifacts directory"],
    ["link-out", "is a symbolic link; not followed"],
    ["notes.txt", "is not a folder"],
    ["gone-0123456", "does not exist"],
    ["0.9.0-0123456", "holds released.json; releases are kept forever"],
  ])("a crafted plan naming %j is refused and nothing is removed", (folder, reason) => {
    const { parent, dir, outside } = artifacts();
    mkdirSync(join(parent, "x"));
    writeFileSync(join(parent, "x", "keep-me"), "");
    const old = build(dir, "1.0.0", { builtAt: daysBefore(40) });
    const released = build(dir, "0.9.0", { builtAt: daysBefore(100) });
    release(dir, released);
    mkdirSync(join(dir, "a"));
    mkdirSync(join(dir, "a", "b"));
    writeFileSync(join(dir, "notes.txt"), "");
    symlinkSync(join(outside, "0.1.0-0123456"), join(dir, "link-out"));

    const crafted = {
      remove: [
        { folder: old, builtAt: daysBefore(40), ageDays: 40, bytes: 0 },
        { folder, builtAt: daysBefore(40), ageDays: 40, bytes: 0 },
      ],
    };
    expect(() => prune(crafted, dir)).toThrow(`${dir}: ${JSON.stringify(folder)}: ${reason}; refused`);
    expect(existsSync(join(dir, old))).toBe(true);
    expect(existsSync(join(parent, "x", "keep-me"))).toBe(true);
    expect(existsSync(join(dir, "a", "b"))).toBe(true);
    expect(readdirSync(join(outside, "0.1.0-0123456"))).toHaveLength(3);
  });

  it("a folder listed twice is refused", () => {
    const { dir } = artifacts();
    const old = build(dir, "1.0.0", { builtAt: daysBefore(40) });
    const entry = { folder: old, builtAt: daysBefore(40), ageDays: 40, bytes: 0 };
    expect(() => prune({ remove: [entry, entry] }, dir)).toThrow(/is listed twice; refused/);
    expect(existsSync(join(dir, old))).toBe(true);
  });

  it("a build released after the plan was made is not removed", () => {
    const { dir } = artifacts();
    const old = build(dir, "1.0.0", { builtAt: daysBefore(40) });
    const plan = planPrune(dir, { now: NOW });
    expect(plan.remove).toHaveLength(1);
    release(dir, old);
    expect(() => prune(plan, dir)).toThrow(/holds released\.json/);
    expect(existsSync(join(dir, old))).toBe(true);
  });
});
