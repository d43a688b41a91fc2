/** SHA256SUMS in the format of GNU sha256sum, written, read and checked; interop with the real sha256sum. */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ChecksumError, formatSha256Sums, parseSha256Sums, sha256File, verifyChecksums } from "../../src/release/checksums.js";
import { tempDir } from "../helpers/temp.js";
import { needs } from "../helpers/tools.js";

const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");
const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const HASH_A = sha256("a");
const HASH_B = sha256("b");

/** The ChecksumError message `fn` throws. */
function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ChecksumError);
    return (error as Error).message;
  }
  throw new Error("expected a ChecksumError, none was thrown");
}

describe("sha256File", () => {
  it("hashes an empty file and a large one (streamed, several chunks)", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "empty"), "");
    const big = Buffer.alloc(3 * 1024 * 1024 + 17, 0x5a);
    writeFileSync(join(dir, "big"), big);
    expect(await sha256File(join(dir, "empty"))).toBe(EMPTY_SHA256);
    expect(await sha256File(join(dir, "big"))).toBe(sha256(big));
  });

  it("rejects a missing file", async () => {
    await expect(sha256File(join(tempDir(), "nope"))).rejects.toThrow(/ENOENT/);
  });
});

describe("formatSha256Sums", () => {
  it("writes `<hash>  <name>` lines sorted by name, hashes in lower case", () => {
    expect(
      formatSha256Sums([
        { name: "b-linux", sha256: HASH_B.toUpperCase() },
        { name: "B-darwin", sha256: HASH_A },
        { name: "a", sha256: EMPTY_SHA256 },
      ]),
    ).toBe(`${HASH_A}  B-darwin\n${EMPTY_SHA256}  a\n${HASH_B}  b-linux\n`);
    expect(formatSha256Sums([])).toBe("");
  });

  it("refuses a bad hash, a name sha256sum would escape or that leaves the folder, and a name listed twice", () => {
    expect(errorOf(() => formatSha256Sums([{ name: "x", sha256: "abc" }]))).toBe(
      'cannot list "x" in a checksum list: its SHA-256 must be 64 hex digits, got "abc"',
    );
    expect(errorOf(() => formatSha256Sums([{ name: "a\nb", sha256: HASH_A }]))).toMatch(/contains a line break or a backslash/);
    expect(errorOf(() => formatSha256Sums([{ name: "../x", sha256: HASH_A }]))).toMatch(/has a "\.\." component/);
    expect(
      errorOf(() =>
        formatSha256Sums([
          { name: "x", sha256: HASH_A },
          { name: "x", sha256: HASH_B },
        ]),
      ),
    ).toBe('cannot list "x" in a checksum list: it is listed twice');
  });
});

describe("parseSha256Sums", () => {
  it("reads text and binary mode lines, CRLF ends and blank lines", () => {
    expect(parseSha256Sums(`${HASH_A}  a.bin\r\n\n${HASH_B.toUpperCase()} *dir/b c.bin\n`, "SHA256SUMS")).toEqual([
      { name: "a.bin", sha256: HASH_A },
      { name: "dir/b c.bin", sha256: HASH_B },
    ]);
  });

  it.each([
    ["a short hash", `${HASH_A.slice(1)}  a\n`, "SHA256SUMS: line 1: the hash has 63 hex digits, expected 64"],
    ["a long hash", `${HASH_A}0  a\n`, "SHA256SUMS: line 1: the hash has 65 hex digits, expected 64"],
    ["non-hex", `${HASH_A.slice(0, 63)}g  a\n`, "SHA256SUMS: line 1: the hash contains a character that is not a hex digit"],
    ["a missing name", `${HASH_A}\n`, "SHA256SUMS: line 1: no file name after the hash"],
    ["a missing name after the separator", `${HASH_A}  \n`, "SHA256SUMS: line 1: no file name after the hash"],
    [
      "one space",
      `${HASH_A} a\n`,
      'SHA256SUMS: line 1: expected two spaces (text mode) or " *" (binary mode) between the hash and the file name',
    ],
    ["an escaped name", `\\${HASH_A}  a\\nb\n`, "SHA256SUMS: line 1: escaped file names (a leading backslash) are not supported"],
    [
      "an absolute name",
      `${HASH_A}  /etc/passwd\n`,
      "SHA256SUMS: line 1: the file name is absolute; names are relative to the list's folder",
    ],
    [
      "a .. name",
      `${HASH_A}  sub/../../x\n`,
      `SHA256SUMS: line 1: the file name has a ".." component; names must stay inside the list's folder`,
    ],
    ["a duplicate name", `${HASH_A}  a\n${HASH_B}  b\n${HASH_B} *a\n`, 'SHA256SUMS: line 3: "a" is listed twice (first on line 1)'],
    ["no files", "\n\n", "SHA256SUMS: lists no files"],
  ])("refuses %s, naming the line", (_, text, message) => {
    expect(errorOf(() => parseSha256Sums(text, "SHA256SUMS"))).toBe(message);
  });

  it("reads back what it writes", () => {
    const entries = [
      { name: "x", sha256: HASH_A },
      { name: "y z", sha256: HASH_B },
    ];
    expect(parseSha256Sums(formatSha256Sums(entries), "SHA256SUMS")).toEqual(entries);
  });
});

describe("verifyChecksums", () => {
  it("reports each listed file: ok, missing, a mismatch, not a regular file", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "good"), "a");
    writeFileSync(join(dir, "changed"), "tampered");
    mkdirSync(join(dir, "sub"));
    writeFileSync(join(dir, "sub", "nested"), "b");
    mkdirSync(join(dir, "folder"));
    const sums = formatSha256Sums([
      { name: "good", sha256: HASH_A },
      { name: "changed", sha256: HASH_B },
      { name: "gone", sha256: HASH_A },
      { name: "sub/nested", sha256: HASH_B },
      { name: "folder", sha256: HASH_A },
    ]);
    expect(await verifyChecksums(dir, sums, "SHA256SUMS")).toEqual([
      { name: "changed", ok: false, reason: `SHA-256 mismatch: listed ${HASH_B}, file has ${sha256("tampered")}` },
      { name: "folder", ok: false, reason: "not a regular file" },
      { name: "gone", ok: false, reason: "missing: no such file" },
      { name: "good", ok: true },
      { name: "sub/nested", ok: true },
    ]);
  });

  it("throws on a malformed list before reading any file", async () => {
    await expect(verifyChecksums(tempDir(), `${HASH_A}  a\nabc  x\n`, "dist/SHA256SUMS")).rejects.toThrow(
      new ChecksumError("dist/SHA256SUMS: line 2: the hash has 3 hex digits, expected 64"),
    );
  });
});

describe("interop with GNU sha256sum", needs("sha256sum"), () => {
  it("sha256sum -c accepts our list; we read sha256sum's text and binary output", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "app-linux"), "linux binary\n");
    writeFileSync(join(dir, "app darwin"), Buffer.from([0, 1, 2, 255]));
    const names = ["app-linux", "app darwin"];
    const ours = formatSha256Sums(await Promise.all(names.map(async (name) => ({ name, sha256: await sha256File(join(dir, name)) }))));
    writeFileSync(join(dir, "SHA256SUMS"), ours);
    const check = spawnSync("sha256sum", ["-c", "--strict", "SHA256SUMS"], { cwd: dir, encoding: "utf8" });
    expect(check.status, check.stderr).toBe(0);
    expect(check.stdout).toBe("app darwin: OK\napp-linux: OK\n");

    for (const mode of ["--text", "--binary"]) {
      const theirs = spawnSync("sha256sum", [mode, ...names], { cwd: dir, encoding: "utf8" });
      expect(theirs.status).toBe(0);
      expect(theirs.stdout).toContain(mode === "--binary" ? " *app-linux" : "  app-linux");
      expect(parseSha256Sums(theirs.stdout, "sha256sum output").sort((a, b) => a.name.localeCompare(b.name))).toEqual(
        parseSha256Sums(ours, "SHA256SUMS").sort((a, b) => a.name.localeCompare(b.name)),
      );
      expect((await verifyChecksums(dir, theirs.stdout, "sha256sum output")).every((r) => r.ok)).toBe(true);
    }
  });
});
