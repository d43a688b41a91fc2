import { rawFailure } from "../../cargo/commands.js";
import { plural } from "../../cargo/messages.js";
import type { Command } from "../../core/command.js";
import type { Step, StepContext, StepOutcome } from "../../engine/step.js";
import { parseGrepOutput, SECRET_PREFILTER, type SecretFinding, scanLines } from "../../supply-chain/secret-scan.js";

/** Findings named in the one-line summary. */
const NAMED_IN_SUMMARY = 3;

const PATTERNS = SECRET_PREFILTER.flatMap((pattern) => ["-e", pattern]);

/** Candidate lines in the files git tracks (binary files skipped). */
const TRACKED: Command = { argv: ["git", "grep", "-I", "-n", "-i", "-E", ...PATTERNS] };

/** Candidate lines in every file, for a workspace without git (e.g. a Dagger directory without .git). */
const ALL_FILES: Command = {
  argv: [
    "grep",
    "-r",
    "-I",
    "-n",
    "-i",
    "-E",
    "--exclude-dir=.git",
    "--exclude-dir=target",
    "--exclude-dir=node_modules",
    ...PATTERNS,
    ".",
  ],
};

/** git grep's exit code outside a repository, and the shell's when git is not installed (slim images). */
const NO_GIT_CHECKOUT = new Set([128, 127]);

/** Committed secrets in the workspace's tracked files: private keys, tokens, webhooks, API keys. */
export const secretsStep: Step = {
  id: "secrets",
  title: "Secrets",
  description: "tracked files hold no private keys, tokens, webhook URLs or API secrets",
  defaultTimeoutSeconds: 120,
  async run(context: StepContext): Promise<StepOutcome> {
    let result = await context.exec(TRACKED);
    let scope = "tracked files";
    if (result.exitCode !== null && NO_GIT_CHECKOUT.has(result.exitCode)) {
      result = await context.exec(ALL_FILES);
      scope = "all files (not a git checkout)";
    }
    // grep: 0 = lines found, 1 = none, anything else = trouble.
    if (result.exitCode !== 0 && result.exitCode !== 1) return { status: "failed", ...rawFailure("grep", result.exitCode, result.stderr) };
    const findings = scanLines(parseGrepOutput(result.stdout), context.policies.secrets);
    const lines = findings.map((f) => `${f.file}:${f.line}: ${f.kind} ${f.masked}`);
    if (findings.length === 0) return { status: "passed", summary: `No secrets in ${scope}` };
    const secrets = findings.filter((f) => f.kind !== "unchecked-line");
    const unchecked = findings.filter((f) => f.kind === "unchecked-line");
    const summary = [
      secrets.length === 0
        ? undefined
        : `${plural(secrets.length, "committed secret")}: ${named(secrets, true)} (rotate them, then remove them from history)`,
      unchecked.length === 0
        ? undefined
        : `${plural(unchecked.length, "line")} too long to check: ${named(unchecked, false)} (allow the file in [secrets] with a reason, or split the line)`,
    ];
    return { status: "failed", summary: summary.filter((part) => part !== undefined).join("; "), details: lines, data: { findings } };
  },
};

/** The first few findings as `file:line` (with ` (kind)` when `withKind`), and how many more there are. */
function named(findings: readonly SecretFinding[], withKind: boolean): string {
  const first = findings.slice(0, NAMED_IN_SUMMARY).map((f) => `${f.file}:${f.line}${withKind ? ` (${f.kind})` : ""}`);
  const more = findings.length > NAMED_IN_SUMMARY ? `, and ${findings.length - NAMED_IN_SUMMARY} more` : "";
  return `${first.join(", ")}${more}`;
}
