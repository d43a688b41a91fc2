/**
 * The `audit-log` command around the tamper-evident audit log: verify, prune and show.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { formatPublicKey, keyIdHex } from "../../src/adapters/minisign.js";
import { appendAuditEntry } from "../../src/audit-log/append.js";
import { auditLogCommand } from "../../src/cli/actions/audit-log.js";
import { UsageError } from "../../src/core/errors.js";
import { tempDir } from "../helpers/temp.js";
import { DAY, KEY, linesOf, PUBLIC, ROOT, SEED, writeLines } from "./log-fixtures.js";

describe("the audit-log command", () => {
  type Io = Parameters<typeof auditLogCommand>[1];
  async function run(args: string[], options: { cwd: string; env?: Record<string, string> }) {
    let stdout = "";
    let stderr = "";
    const io: Io = {
      stdout: { write: (t: string) => (stdout += t) },
      stderr: { write: (t: string) => (stderr += t) },
      env: options.env ?? {},
      cwd: options.cwd,
    };
    const code = await auditLogCommand(args, io);
    return { code, stdout, stderr };
  }

  /** A workspace whose default log holds entries 200, 100, 10 and 1 days old. */
  function workspace(): { source: string; file: string } {
    const source = tempDir("shriven-audit-cli-");
    const file = join(source, ".shriven-pipeline/audit/audit.jsonl");
    for (const age of [200, 100, 10, 1]) {
      appendAuditEntry(file, { kind: "deploy", actor: "alice", data: { age }, at: new Date(Date.now() - age * DAY) });
    }
    return { source, file };
  }

  it("verifies the default log of the current folder or --source, and names each problem", async () => {
    const { source, file } = workspace();
    const ok = await run(["verify"], { cwd: source });
    expect(ok).toMatchObject({ code: 0, stderr: "" });
    expect(ok.stdout).toMatch(
      /^✅ audit log verifies: 4 entries \(\.shriven-pipeline\/audit\/audit\.jsonl\)\n {4}head: line 4, seq 4, sha256 [0-9a-f]{64}/,
    );
    const lines = linesOf(file);
    writeLines(file, [lines[0] as string, lines[2] as string, lines[3] as string]);
    const bad = await run(["verify", "--source", source], { cwd: ROOT });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain("❌ line 2: seq 3 follows seq 1: entry 2 is missing\n❌ audit log does NOT verify: 1 problem in 3 lines");
    const missing = await run(["verify", "--file", "nowhere.jsonl"], { cwd: source });
    expect(missing).toEqual({ code: 1, stdout: "", stderr: `shriven-pipeline: ${join(source, "nowhere.jsonl")}: file not found\n` });
  });

  it("prunes with the key of $RELEASE_SIGNING_KEY, lists what it prunes, and never prints the key", async () => {
    const { source, file } = workspace();
    const secret = SEED.toString("hex");
    const pruned = await run(["prune", "--source", source], { cwd: source, env: { RELEASE_SIGNING_KEY: secret, GITHUB_ACTOR: "ops-bot" } });
    expect(pruned.code).toBe(0);
    expect(pruned.stdout).toMatch(
      new RegExp(
        `^Pruned 2 entries older than 90 days from \\.shriven-pipeline/audit/audit\\.jsonl into a checkpoint signed by key ${keyIdHex(KEY.keyId)}:\\n` +
          " {4}- seq 1 {2}\\S+Z {2}deploy by alice\\n {4}- seq 2 {2}\\S+Z {2}deploy by alice\\n {4}kept 2 entries; the checkpoint stands for entries 1–2\\n",
      ),
    );
    expect(`${pruned.stdout}${pruned.stderr}${readFileSync(file, "utf8")}`).not.toContain(secret.slice(0, 32));
    expect(JSON.parse(linesOf(file)[0] as string).actor).toBe("ops-bot");
    writeFileSync(join(source, "minisign.pub"), formatPublicKey(PUBLIC));
    const verified = await run(["verify", "--public-key", "minisign.pub"], { cwd: source });
    expect(verified.code).toBe(0);
    expect(verified.stdout).toMatch(
      /^✅ audit log verifies: 3 entries .*\n {4}checkpoint \(line 1\): entries 1–2 pruned .* signature verified\n/,
    );
    const unverified = await run(["verify"], { cwd: source });
    expect(unverified.code).toBe(1);
    expect(unverified.stdout).toContain("❌ checkpoint (line 1)");
    expect(unverified.stdout).toContain("signature NOT checked, so the log does not verify (give the trusted --public-key minisign.pub)");
    const again = await run(["prune", "--days", "5", "--signing-key-file", "key"], { cwd: source, env: {} }).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(Error); // no such key file: a ConfigError naming it
    writeFileSync(join(source, "key"), `${secret}\n`);
    const five = await run(["prune", "--days", "5", "--signing-key-file", "key"], { cwd: source });
    expect(five.stdout).toContain("    - the earlier checkpoint of entries 1–2 (folded into the new one)\n    - seq 3 ");
    expect(five.stdout).not.toContain(secret.slice(0, 32));
  });

  it("shows the last entries, and refuses bad usage", async () => {
    const { source } = workspace();
    const shown = await run(["show", "--last", "2"], { cwd: source });
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(
      /^line 3 {2}seq 3 {2}\S+Z {2}deploy {5}alice {2}\{"age":10\}\nline 4 {2}seq 4 {2}\S+Z {2}deploy {5}alice {2}\{"age":1\}\n$/,
    );
    await expect(run(["prune"], { cwd: source })).rejects.toThrow(
      new UsageError("audit-log prune needs a signing key for its checkpoint: --signing-key-file FILE or the RELEASE_SIGNING_KEY secret"),
    );
    await expect(run(["show", "--last", "0"], { cwd: source })).rejects.toThrow('--last: expected a whole number ≥ 1, got "0"');
    await expect(run(["rewrite"], { cwd: source })).rejects.toThrow(/^audit-log: unknown subcommand "rewrite"; expected verify/);
    await expect(run([], { cwd: source })).rejects.toThrow(UsageError);
    await expect(run(["verify", "--bogus"], { cwd: source })).rejects.toThrow(UsageError);
  });
});
