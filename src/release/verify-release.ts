/**
 * Checking a release folder the way a user would before installing it:
 * `SHA256SUMS` signed by the pinned key, every file's checksum, every
 * binary's own signature (whose trusted comment must name that file), and the
 * provenance envelope's signature and subjects.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { keyIdHex, parsePublicKey, verifySignature } from "../adapters/minisign.js";
import { parseSha256Sums, verifyChecksums } from "./checksums.js";
import { commentField } from "./promotion.js";
import { verifyEnvelope } from "./provenance/dsse.js";

/** One check and its outcome. */
export interface VerifyCheck {
  readonly subject: string;
  readonly ok: boolean;
  readonly detail: string;
}

/** The outcome of {@link verifyRelease}. */
export interface ReleaseVerification {
  readonly ok: boolean;
  readonly keyId: string;
  readonly checks: readonly VerifyCheck[];
  /**
   * The version and commit the signed `SHA256SUMS` names in its trusted comment: the only place a release's
   * version comes from (build.json is not signed). Absent when that signature did not verify or names none.
   */
  readonly signed?: { readonly version: string; readonly commit: string };
}

function attempt(subject: string, run: () => string): VerifyCheck {
  try {
    return { subject, ok: true, detail: run() };
  } catch (error) {
    return { subject, ok: false, detail: (error as Error).message };
  }
}

/** The `file:` field of a trusted comment (`timestamp:…\tfile:NAME\t…`). */
const commentFile = (trustedComment: string): string | undefined => commentField(trustedComment, "file");

/**
 * Verifies the release in `dir` against the public key (minisign .pub text or
 * its base64 line). Never throws for a bad release: every problem is a failed check.
 */
export async function verifyRelease(dir: string, publicKeyText: string, publicKeySource: string): Promise<ReleaseVerification> {
  const key = parsePublicKey(publicKeyText, publicKeySource);
  const checks: VerifyCheck[] = [];
  const sumsPath = join(dir, "SHA256SUMS");
  const read = (path: string): Buffer => {
    if (!existsSync(path)) throw new Error(`${path} is missing`);
    return readFileSync(path);
  };
  let sumsText: string | undefined;
  let signed: ReleaseVerification["signed"];
  const sumsCheck = attempt("SHA256SUMS", () => {
    const bytes = read(sumsPath);
    const signature = verifySignature(bytes, read(`${sumsPath}.minisig`).toString("utf8"), key, `${sumsPath}.minisig`);
    if (commentFile(signature.trustedComment) !== "SHA256SUMS")
      throw new Error(`the signature's trusted comment names another file: ${signature.trustedComment}`);
    sumsText = bytes.toString("utf8");
    const version = commentField(signature.trustedComment, "version");
    const commit = commentField(signature.trustedComment, "commit");
    if (version !== undefined && commit !== undefined) signed = { version, commit };
    return `signed by key ${signature.keyId}: ${signature.trustedComment}`;
  });
  checks.push(sumsCheck);
  if (sumsText === undefined) return { ok: false, keyId: keyIdHex(key.keyId), checks };
  const entries = parseSha256Sums(sumsText, sumsPath);
  for (const result of await verifyChecksums(dir, sumsText, sumsPath))
    checks.push({
      subject: result.name,
      ok: result.ok,
      detail: result.ok ? "checksum matches SHA256SUMS" : (result.reason ?? "checksum mismatch"),
    });
  for (const entry of entries) {
    checks.push(
      attempt(`${entry.name}.minisig`, () => {
        const path = join(dir, entry.name);
        const signature = verifySignature(read(path), read(`${path}.minisig`).toString("utf8"), key, `${path}.minisig`);
        const named = commentFile(signature.trustedComment);
        if (named !== entry.name) throw new Error(`the trusted comment names ${JSON.stringify(named)}, not ${entry.name}`);
        return `signed by key ${signature.keyId}: ${signature.trustedComment}`;
      }),
    );
  }
  checks.push(
    attempt("provenance.intoto.jsonl", () => {
      const path = join(dir, "provenance.intoto.jsonl");
      const line = read(path).toString("utf8").trim().split("\n")[0] ?? "";
      let envelope: unknown;
      try {
        envelope = JSON.parse(line);
      } catch {
        throw new Error(`${path}: not a JSON envelope`);
      }
      const statement = verifyEnvelope(envelope, key.publicKey, path, keyIdHex(key.keyId));
      const expected = new Map(entries.map((e) => [e.name, e.sha256]));
      for (const subject of statement.subject) {
        const name = subject.name ?? "";
        if (expected.get(name) !== subject.digest.sha256)
          throw new Error(
            `provenance subject ${name} has sha256 ${subject.digest.sha256 ?? "none"}, SHA256SUMS says ${expected.get(name) ?? "nothing"}`,
          );
      }
      const missing = entries.filter((e) => !statement.subject.some((s) => s.name === e.name));
      if (missing.length > 0) throw new Error(`provenance does not cover ${missing.map((e) => e.name).join(", ")}`);
      return `signed SLSA provenance for ${statement.subject.length} artifact${statement.subject.length === 1 ? "" : "s"}`;
    }),
  );
  return { ok: checks.every((c) => c.ok), keyId: keyIdHex(key.keyId), checks, ...(signed === undefined ? {} : { signed }) };
}
