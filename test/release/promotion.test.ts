/**
 * Promotion records: signed with the release key, stored as a git ref of the commit, verified before
 * production trusts them. Real git, real minisign signatures (src/adapters/minisign.ts).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Command } from "../../src/core/command.js";
import {
  type PromotionRecord,
  PromotionRefused,
  promotionMismatch,
  type SignedPromotion,
  signPromotion,
  verifyPromotion,
} from "../../src/release/promotion.js";
import { promotionRef, readPromotion, writePromotion } from "../../src/release/promotion-store.js";
import { HostRunner } from "../../src/runners/host-runner.js";
import { testSigningKey } from "../helpers/signed-release.js";

const release = testSigningKey("release");
const outsider = testSigningKey("outsider");
const AT = new Date("2026-11-28T04:00:00Z");
const BINARY = { binary: "shriven-quant", name: "shriven-quant-0.0.0-staging.abc1234-x86_64-unknown-linux-gnu", sha256: "a".repeat(64) };

const record = (commit: string): Omit<PromotionRecord, "format" | "keyId"> => ({
  commit,
  promotedAt: AT.toISOString(),
  artifacts: [BINARY],
  reports: [{ step: "integration-tests", status: "passed", summary: "12/12 passed", sha256: "b".repeat(64) }],
  testHosts: ["test-1", "test-2"],
});

describe("promotion records in a git repository", () => {
  const repo = mkdtempSync(join(tmpdir(), "shriven-promotion-"));
  const runner = new HostRunner({ workspace: repo });
  const exec = (command: Command) => runner.exec(command);
  const git = (...args: string[]) =>
    execa("git", ["-c", "user.name=asha", "-c", "user.email=asha@shriven.example", ...args], { cwd: repo });
  let first: string;
  let second: string;
  const scratch = () => ({ host: join(repo, ".scratch"), workspace: join(repo, ".scratch") });

  beforeAll(async () => {
    await git("init", "-q", "-b", "main");
    await git("commit", "-q", "--allow-empty", "-m", "first");
    first = (await git("rev-parse", "HEAD")).stdout;
    await git("commit", "-q", "--allow-empty", "-m", "second");
    second = (await git("rev-parse", "HEAD")).stdout;
  });
  afterAll(() => rmSync(repo, { recursive: true, force: true }));

  it("a record written for a commit is read back and verifies with the release key", async () => {
    const signed = signPromotion(record(first), release, AT);
    expect(await writePromotion(exec, first, signed, scratch())).toBe(promotionRef(first));
    const stored = await readPromotion(exec, first);
    expect(stored).toEqual(signed);
    const verified = verifyPromotion(stored as SignedPromotion, [outsider, release], first);
    expect(verified).toMatchObject({ commit: first, promotedAt: AT.toISOString(), artifacts: [BINARY], testHosts: ["test-1", "test-2"] });
    // Nothing of the write is left in the work tree or the index.
    expect((await git("status", "--porcelain", "--ignored")).stdout).toBe("");
  });

  it("a commit staging never promoted has no record", async () => {
    expect(await readPromotion(exec, second)).toBeUndefined();
  });

  it("another commit's record, moved under this commit's ref, is refused", async () => {
    const signed = signPromotion(record(first), release, AT);
    await writePromotion(exec, second, signed, scratch());
    const stored = (await readPromotion(exec, second)) as SignedPromotion;
    expect(() => verifyPromotion(stored, [release], second)).toThrow(
      new RegExp(`^the promotion record of ${second} is refused: its signature's trusted comment is for another record`),
    );
  });

  it("a record signed by a key production does not pin is refused", () => {
    const signed = signPromotion(record(first), outsider, AT);
    expect(() => verifyPromotion(signed, [release], first)).toThrow(PromotionRefused);
    expect(() => verifyPromotion(signed, [release], first)).toThrow(
      /its signature does not verify with the pinned release key \(key [0-9A-F]{16}: /,
    );
  });

  it("a record whose digest was edited after signing is refused", () => {
    const signed = signPromotion(record(first), release, AT);
    const tampered = { ...signed, text: signed.text.replace("a".repeat(64), "c".repeat(64)) };
    expect(tampered.text).not.toBe(signed.text);
    expect(() => verifyPromotion(tampered, [release], first)).toThrow(/does not verify with the pinned release key/);
  });

  it("a signed record whose content names another commit is refused", () => {
    const signed = signPromotion({ ...record(first), commit: second }, release, AT);
    const relabelled = signPromotion(record(second), release, AT);
    // The signature of a record for `second`, the text of a record for `first`: does not verify.
    expect(() =>
      verifyPromotion({ text: signPromotion(record(first), release, AT).text, signature: relabelled.signature }, [release], second),
    ).toThrow(/does not verify/);
    expect(() => verifyPromotion(signed, [release], first)).toThrow(/trusted comment is for another record/);
  });

  it("a build is accepted only when every binary is bit-for-bit the one staging validated", () => {
    const verified = verifyPromotion(signPromotion(record(first), release, AT), [release], first);
    expect(promotionMismatch(verified, [{ binary: "shriven-quant", sha256: "a".repeat(64) }])).toBeUndefined();
    expect(promotionMismatch(verified, [{ binary: "shriven-quant", sha256: "d".repeat(64) }])).toBe(
      `shriven-quant has SHA-256 ${"d".repeat(64)}, staging validated ${"a".repeat(64)}: the rebuild is not bit-for-bit identical`,
    );
    expect(promotionMismatch(verified, [])).toBe("shriven-quant, validated by staging, was not built");
    expect(promotionMismatch(verified, [BINARY, { binary: "extra", sha256: "e".repeat(64) }])).toBe("extra was not built by staging");
  });
});
