/**
 * Verifying the audit log's hash chain: every line well formed, seqs without gaps, repeats or reordering,
 * every `prev` the SHA-256 of the entry before, time never going backwards, and the checkpoint's signature.
 *
 * What the chain cannot show: a change to the LAST line (nothing after it records its hash) or the removal
 * of the last lines. Record {@link AuditVerification.head} elsewhere (a release note, a CI log) to pin them.
 */
import type { PublicKey } from "../adapters/minisign.js";
import { checkCheckpoint } from "./checkpoint.js";
import { GENESIS_PREV } from "./entry.js";
import { type ChainNode, type ParsedLine, parseLine, readLogFile, splitLines } from "./log-lines.js";

/** A problem {@link verifyAuditLog} found, on a 1-based line of the file. */
export interface AuditProblem {
  readonly line: number;
  readonly problem: string;
}

/** The checkpoint at the top of a pruned log. */
export interface CheckpointReport {
  readonly line: number;
  /** Whether the signature checks out with the given public key. */
  readonly verified: boolean | "no key given";
  /** The signer's key id, as minisign prints it. */
  readonly keyId: string;
  readonly prunedEntries: number;
  readonly prunedThroughSeq: number;
  readonly firstRemovedAt: string;
  readonly lastRemovedAt: string;
  readonly prunedAt: string;
}

/** The outcome of {@link verifyAuditLog}. */
export interface AuditVerification {
  /** No problems (a checkpoint that does not verify with the trusted public key, or with none given, is one). */
  readonly ok: boolean;
  /** Lines in the file (each should be one entry). */
  readonly entries: number;
  /** Sorted by line. */
  readonly problems: readonly AuditProblem[];
  readonly checkpoint?: CheckpointReport;
  /** The last entry and the SHA-256 of its line: record it elsewhere to pin the end of the log. */
  readonly head?: { readonly line: number; readonly seq: number; readonly sha256: string };
}

/** A verification with the parsed lines and the checkpoint's node, for pruning. */
export interface AuditAnalysis extends AuditVerification {
  readonly lines: readonly ParsedLine[];
  readonly checkpointNode?: ChainNode;
}

/** Records a problem on a line. */
type Report = (line: number, problem: string) => void;

const short = (hash: string): string => `${hash.slice(0, 12)}…`;

/** "entry 7 is missing", "entries 7–9 are missing", "entries 3, 7–9 are missing". */
function describeMissing(seqs: readonly number[]): string {
  const ranges: string[] = [];
  for (let i = 0; i < seqs.length; ) {
    let j = i;
    while (j + 1 < seqs.length && (seqs[j + 1] as number) === (seqs[j] as number) + 1) j++;
    ranges.push(i === j ? `${seqs[i]}` : `${seqs[i]}–${seqs[j]}`);
    i = j + 1;
  }
  return seqs.length === 1 ? `entry ${seqs[0]} is missing` : `entries ${ranges.join(", ")} are missing`;
}

function range(from: number, to: number): number[] {
  const values: number[] = [];
  for (let n = from; n <= to; n++) values.push(n);
  return values;
}

/** A checkpoint whose data is bad still explains why the log does not start at entry 1. */
const startsLikeCheckpoint = (node: ChainNode): boolean => node.line === 1 && node.kind === "checkpoint";

/** A checkpoint: only as line 1; it stands in for the last pruned entry. */
function findCheckpoint(
  nodes: readonly ChainNode[],
  publicKey: PublicKey | undefined,
  report: Report,
): { checkpointNode?: ChainNode; checkpoint?: CheckpointReport } {
  let checkpointNode: ChainNode | undefined;
  let checkpoint: CheckpointReport | undefined;
  for (const node of nodes) {
    if (node.kind !== "checkpoint") continue;
    if (node.line !== 1) {
      report(node.line, "a checkpoint can only be the first line of the log (pruning puts it there)");
      continue;
    }
    if (node.checkpoint === undefined || node.entry === undefined) continue;
    checkpointNode = node;
    node.chainHash = node.checkpoint.prunedThroughHash;
    const checked = checkCheckpoint(node.entry, node.checkpoint, publicKey);
    for (const problem of checked.problems) report(node.line, problem);
    const { keyId, prunedEntries, prunedThroughSeq, firstRemovedAt, lastRemovedAt, prunedAt } = node.checkpoint;
    checkpoint = {
      line: node.line,
      verified: checked.verified,
      keyId,
      prunedEntries,
      prunedThroughSeq,
      firstRemovedAt,
      lastRemovedAt,
      prunedAt,
    };
  }
  return { ...(checkpointNode === undefined ? {} : { checkpointNode }), ...(checkpoint === undefined ? {} : { checkpoint }) };
}

/**
 * Groups the nodes by seq and picks one per seq: the one the next entry chains to (or the first); reports the
 * others as inserted.
 */
function chooseOnePerSeq(nodes: readonly ChainNode[], report: Report): { bySeq: Map<number, ChainNode[]>; primary: Set<ChainNode> } {
  const bySeq = new Map<number, ChainNode[]>();
  for (const node of nodes) bySeq.set(node.seq, [...(bySeq.get(node.seq) ?? []), node]);
  const chainedTo = (node: ChainNode): boolean => (bySeq.get(node.seq + 1) ?? []).some((next) => next.prev === node.chainHash);
  const primary = new Set<ChainNode>();
  for (const [seq, same] of bySeq) {
    const keep = same.find(chainedTo) ?? (same[0] as ChainNode);
    primary.add(keep);
    for (const other of same) {
      if (other === keep) continue;
      report(
        other.line,
        `seq ${seq} repeats the seq of line ${keep.line}: ${
          chainedTo(keep) ? `entry ${seq + 1} chains to line ${keep.line}, so line ${other.line} was inserted` : "one of them was inserted"
        }`,
      );
    }
  }
  return { bySeq, primary };
}

/** Order, gaps and time, in file order, of the nodes chosen for their seq. */
function checkOrder(
  ordered: readonly ChainNode[],
  lines: readonly ParsedLine[],
  bySeq: ReadonlyMap<number, readonly ChainNode[]>,
  report: Report,
): void {
  const malformedBetween = (from: number, to: number) => lines.filter((l) => l.line > from && l.line < to && l.node === undefined).length;
  let previous: ChainNode | undefined;
  let highest: ChainNode | undefined;
  for (const node of ordered) {
    if (previous === undefined || highest === undefined) {
      if (!startsLikeCheckpoint(node) && node.seq > 1 && malformedBetween(0, node.line) === 0) {
        const missing = range(1, node.seq - 1).filter((s) => !bySeq.has(s));
        if (missing.length > 0)
          report(node.line, `seq ${node.seq} is the first entry, but no checkpoint precedes it: ${describeMissing(missing)}`);
      }
    } else if (node.seq === previous.seq + 1) {
      if (node.atKey !== undefined && previous.atKey !== undefined && node.atKey < previous.atKey) {
        report(node.line, `at ${node.at} is earlier than ${previous.at} of line ${previous.line}: timestamps go backwards`);
      }
    } else if (node.seq < highest.seq) {
      if (previous.seq === node.seq + 1) {
        report(previous.line, `lines ${previous.line} and ${node.line} are swapped: seq ${previous.seq} comes before seq ${node.seq}`);
      } else {
        report(node.line, `seq ${node.seq} comes after seq ${highest.seq} (line ${highest.line}): the lines are out of order`);
      }
    } else {
      const missing = range(highest.seq + 1, node.seq - 1).filter((s) => !bySeq.has(s));
      const malformed = malformedBetween(previous.line, node.line);
      if (missing.length > malformed) {
        report(
          node.line,
          `seq ${node.seq} follows seq ${previous.seq}: ${describeMissing(missing)}${malformed > 0 ? ` (${malformed} malformed line(s) in between)` : ""}`,
        );
      }
    }
    previous = node;
    if (highest === undefined || node.seq > highest.seq) highest = node;
  }
}

/**
 * Hash links, in seq order: link i joins chain[i] to chain[i + 1] (seq n to n + 1). Names the edited line of
 * each broken link, or of each run of broken links.
 */
function checkHashLinks(chain: readonly ChainNode[], checkpointNode: ChainNode | undefined, report: Report): void {
  type Link = "ok" | "broken" | "absent";
  const links: Link[] = chain.slice(1).map((next, i) => {
    const node = chain[i] as ChainNode;
    if (next.seq !== node.seq + 1) return "absent";
    return next.prev === node.chainHash ? "ok" : "broken";
  });
  const first = chain[0];
  if (first !== undefined && !startsLikeCheckpoint(first) && first.seq === 1 && first.prev !== GENESIS_PREV) {
    if (links[0] === "broken") {
      report(
        first.line,
        `edited: its prev is not 64 zeros (it is entry 1) and its SHA-256 is not the prev of line ${(chain[1] as ChainNode).line}`,
      );
      links[0] = "absent";
    } else {
      report(first.line, `prev ${short(first.prev)} should be 64 zeros: it is entry 1 and no checkpoint precedes it`);
    }
  }
  for (let start = 0; start < links.length; start++) {
    if (links[start] !== "broken") continue;
    let end = start;
    while (links[end + 1] === "broken") end++;
    if (start === end) {
      const node = chain[start] as ChainNode;
      const next = chain[start + 1] as ChainNode;
      if (links[start + 1] === "ok") {
        report(
          node.line,
          node === checkpointNode
            ? `the checkpoint's prunedThroughHash ${short(node.chainHash)} is not the prev ${short(next.prev)} of line ${next.line}, the entry after it`
            : `edited: its SHA-256 ${short(node.hash)} is not the prev ${short(next.prev)} that line ${next.line}, the next entry, records`,
        );
      } else {
        // Nothing after `next` vouches for it, so its prev may be the wrong one.
        report(
          next.line,
          `prev ${short(next.prev)} is not the SHA-256 ${short(node.chainHash)} of line ${node.line}: line ${next.line} was added or changed by hand, or line ${node.line} was edited`,
        );
      }
    } else {
      // A run of broken links: each entry inside it matches neither neighbour, so it was edited.
      for (let i = start + 1; i <= end; i++) {
        const node = chain[i] as ChainNode;
        report(
          node.line,
          `edited: its prev is not the SHA-256 of line ${(chain[i - 1] as ChainNode).line} and its own SHA-256 is not the prev of line ${(chain[i + 1] as ChainNode).line}`,
        );
      }
    }
    start = end;
  }
}

/** Verifies the bytes of a log; see {@link verifyAuditLog}. */
export function analyzeAuditLog(bytes: Buffer, publicKey: PublicKey | undefined): AuditAnalysis {
  const { lines: raw, terminated } = splitLines(bytes);
  const lines = raw.map((b, i) => parseLine(b, i + 1, terminated || i < raw.length - 1));
  const problems: AuditProblem[] = lines.flatMap((l) => l.problems.map((problem) => ({ line: l.line, problem })));
  const report: Report = (line, problem) => problems.push({ line, problem });
  const nodes = lines.flatMap((l) => (l.node === undefined ? [] : [l.node]));
  const { checkpointNode, checkpoint } = findCheckpoint(nodes, publicKey, report);
  const { bySeq, primary } = chooseOnePerSeq(nodes, report);
  checkOrder(
    nodes.filter((n) => primary.has(n)),
    lines,
    bySeq,
    report,
  );
  const chain = [...primary].sort((a, b) => a.seq - b.seq);
  checkHashLinks(chain, checkpointNode, report);
  problems.sort((a, b) => a.line - b.line);
  const last = chain.at(-1);
  return {
    ok: problems.length === 0,
    entries: lines.length,
    problems,
    lines,
    ...(checkpoint === undefined ? {} : { checkpoint }),
    ...(checkpointNode === undefined ? {} : { checkpointNode }),
    ...(last === undefined ? {} : { head: { line: last.line, seq: last.seq, sha256: last.hash } }),
  };
}

/**
 * Checks the whole log: every line well formed, seqs from 1 (or the checkpoint's) without gaps, repeats or
 * reordering, every `prev` the SHA-256 of the entry before, timestamps never going backwards, and the
 * checkpoint's signature with the trusted release public key (a log with a checkpoint does not verify without it). Each problem names the line to look at: for an edited
 * entry, the edited line (the one whose hash the next entry no longer records); for a removed entry, the line
 * after the hole; for two swapped lines, the first of them. One case is ambiguous by nature: when the last
 * entry's `prev` does not match, nothing vouches for that last line, so it is named (added or changed by
 * hand) and the message says the line before may have been edited instead.
 * @throws AuditLogError when the file cannot be read.
 */
export function verifyAuditLog(file: string, options: { publicKey?: PublicKey } = {}): AuditVerification {
  const { lines: _lines, checkpointNode: _checkpoint, ...verification } = analyzeAuditLog(readLogFile(file), options.publicKey);
  return verification;
}

/** {@link verifyAuditLog} of a log's bytes (read from a git ref, for instance). */
export function verifyAuditBytes(bytes: Buffer, publicKey: PublicKey | undefined): AuditVerification {
  const { lines: _lines, checkpointNode: _checkpoint, ...verification } = analyzeAuditLog(bytes, publicKey);
  return verification;
}
