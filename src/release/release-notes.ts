/**
 * The release notes of a GitHub release: what changed since the previous release tag, who approved it, the
 * gate results of the run (and of staging, when known), the audit log's chain head, the checksums and how to
 * verify the files. Commit subjects are written by whoever commits, so every text from outside is escaped for
 * Markdown and HTML and cut to a bounded length; the list of changes is bounded too.
 */

/** One commit since the previous release. */
export interface ReleaseChange {
  /** Abbreviated commit id. */
  readonly commit: string;
  readonly subject: string;
}

/** A gate's result, as the run's step results give it. */
export interface GateResult {
  readonly title: string;
  readonly status: string;
  readonly summary: string;
}

/** What {@link releaseNotes} writes about. */
export interface ReleaseNotesInput {
  readonly tag: string;
  readonly commit: string;
  readonly keyId: string;
  /** The previous release tag; absent for the first release. */
  readonly previousTag?: string;
  /** The commits `previousTag..tag`, newest first, at most {@link CHANGES_MAX} + 1 read. */
  readonly changes: readonly ReleaseChange[];
  readonly approvers: readonly string[];
  readonly productionGates: readonly GateResult[];
  /** Staging's results for the commit, when the run knows them. */
  readonly stagingGates?: readonly GateResult[];
  /** The audit log's chain head when the notes were written. */
  readonly chainHead?: { readonly seq: number; readonly sha256: string };
  /** The SHA256SUMS entries. */
  readonly checksums: readonly { readonly name: string; readonly sha256: string }[];
}

/** Changes listed; more are counted ("and N more"). */
export const CHANGES_MAX = 50;
/** Longest text kept from a commit subject or a gate summary. */
const TEXT_MAX = 160;

const ICON: Readonly<Record<string, string>> = { passed: "✅", warned: "⚠️", failed: "❌", skipped: "⏭️", cancelled: "🚫" };

/**
 * Text from outside as inert Markdown: control characters and line breaks removed, cut to {@link TEXT_MAX},
 * HTML's `&`, `<`, `>` as entities, and every Markdown punctuation mark backslash-escaped (links, emphasis,
 * code, headings, tables, mentions' `@` stay literal).
 */
export function inertMarkdown(text: string, max = TEXT_MAX): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is this pattern's job
  const flat = text.replace(/[\u0000-\u001F\u007F\u2028\u2029]+/g, " ").trim();
  const cut = [...flat].length > max ? `${[...flat].slice(0, max - 1).join("")}…` : flat;
  return cut
    .replace(/[\\`*_{}[\]()#+\-.!|~:@=^$"']/g, (c) => `\\${c}`)
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;");
}

const gateLine = (g: GateResult): string => `- ${ICON[g.status] ?? "•"} ${inertMarkdown(g.title, 60)}: ${inertMarkdown(g.summary)}`;

/** The Markdown body of the release. */
export function releaseNotes(input: ReleaseNotesInput): string {
  const lines = [`Release ${input.tag} (${input.commit}), signed with minisign key ${input.keyId}.`, ""];
  lines.push(input.previousTag === undefined ? "## Changes (the first release)" : `## Changes since ${input.previousTag}`, "");
  const shown = input.changes.slice(0, CHANGES_MAX);
  if (shown.length === 0) lines.push("- (no commits)");
  for (const change of shown) lines.push(`- \`${change.commit.replace(/[^0-9a-f]/g, "")}\` ${inertMarkdown(change.subject)}`);
  if (input.changes.length > CHANGES_MAX)
    lines.push(`- … and more: \`git log --oneline ${input.previousTag ?? ""}${input.previousTag === undefined ? "" : ".."}${input.tag}\``);
  lines.push("", "## Approved by", "");
  lines.push(
    input.approvers.length === 0
      ? "- (no approvals recorded in this run)"
      : input.approvers.map((a) => `- ${inertMarkdown(a, 80)}`).join("\n"),
  );
  if (input.stagingGates !== undefined) lines.push("", "## Staging gates", "", ...input.stagingGates.map(gateLine));
  lines.push("", "## Production gates", "", ...input.productionGates.map(gateLine));
  lines.push("", "## Audit log", "");
  lines.push(
    input.chainHead === undefined
      ? "- no audit log entries were recorded"
      : `- chain head: seq ${input.chainHead.seq}, sha256 \`${input.chainHead.sha256}\` (compare with \`shriven-pipeline audit-log verify --from-ref refs/shriven-pipeline/audit --public-key minisign.pub\`)`,
  );
  lines.push("", "## Checksums (SHA-256)", "", "```text");
  for (const { name, sha256 } of input.checksums) lines.push(`${sha256}  ${name.replace(/[^A-Za-z0-9_.+@-]/g, "?")}`);
  lines.push("```", "", "## How to verify", "");
  lines.push(
    "1. Get the release public key `minisign.pub` from a trusted place (not from this page).",
    "2. `minisign -Vm SHA256SUMS -p minisign.pub` — the signed list of checksums; its trusted comment names the version and commit.",
    "3. `sha256sum -c SHA256SUMS` — every file against the list.",
    "4. `minisign -Vm FILE -p minisign.pub` for each file, to check its own signature.",
  );
  return `${lines.join("\n")}\n`;
}
