/** `shriven-pipeline verify`: a release folder checked offline — signatures, checksums, provenance. */
import { resolve } from "node:path";
import { UsageError } from "../../core/errors.js";
import { readTextFile } from "../../core/read-text-file.js";
import { verifyRelease } from "../../release/verify-release.js";
import { type ParsedArgs, text } from "../args.js";
import type { CliIo } from "../io.js";

export { runVerify as run };

async function runVerify({ values }: ParsedArgs, io: CliIo): Promise<number> {
  const dir = text(values.dir);
  const keyFile = text(values["public-key"]);
  if (dir === undefined || keyFile === undefined) throw new UsageError("verify needs --dir DIR and --public-key FILE (minisign.pub)");
  const keyPath = resolve(io.cwd, keyFile);
  const result = await verifyRelease(resolve(io.cwd, dir), readTextFile(keyPath), keyFile);
  io.stdout.write(
    [
      `${result.ok ? "✅" : "❌"} Release in ${dir}: ${result.ok ? "verified" : "NOT verified"} against key ${result.keyId}`,
      ...result.checks.map((c) => `    ${c.ok ? "ok  " : "FAIL"} ${c.subject}: ${c.detail}`),
      "",
    ].join("\n"),
  );
  return result.ok ? 0 : 1;
}
