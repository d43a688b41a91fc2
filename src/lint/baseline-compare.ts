/**
 * A run's warnings against a clippy baseline: which are new (they fail the
 * gate, "no new warnings"), which the baseline holds, and which of its entries
 * no warning matches any more (fixed, so the baseline can shrink).
 *
 * Matching counts: a baseline holding an identity N times accepts N warnings
 * of that identity in the run, whatever their lines. With more in the run, the
 * extra ones are new; which of the identical warnings is the new one cannot be
 * told, so a new warning carries every line of its identity. With fewer, the
 * missing ones are fixed.
 */
import type { ClippyBaselineEntry } from "./clippy-baseline.js";
import { fingerprintKey, fingerprintOf, type LintWarning, MAX_SNIPPET_CHARS, normaliseText } from "./lint-fingerprint.js";

/** A warning the baseline does not hold. */
export interface NewWarning<W extends LintWarning> {
  readonly warning: W;
  /**
   * Set when the baseline holds warnings identical to this one (same lint,
   * file and source line): how many the run has, how many the baseline holds,
   * and the lines of all of them in the run (any one may be the new one).
   */
  readonly identical?: { readonly found: number; readonly baselined: number; readonly lines: readonly number[] };
}

/** The outcome of {@link compareWithBaseline}. */
export interface BaselineComparison<W extends LintWarning> {
  /** Warnings the baseline does not hold, by file and line. */
  readonly newWarnings: readonly NewWarning<W>[];
  /** Warnings the baseline holds (legacy, still there). */
  readonly baselined: readonly W[];
  /** Baseline entries no warning of the run matched: fixed, or moved to another file or line text. */
  readonly fixed: readonly ClippyBaselineEntry[];
}

const byPosition = (a: LintWarning, b: LintWarning): number =>
  (a.file ?? "").localeCompare(b.file ?? "") || (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0);

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group === undefined) groups.set(k, [item]);
    else group.push(item);
  }
  return groups;
}

/** Compares a run's warnings with a baseline's entries; see the module comment for how identical warnings count. */
export function compareWithBaseline<W extends LintWarning>(
  warnings: readonly W[],
  entries: readonly ClippyBaselineEntry[],
): BaselineComparison<W> {
  const current = groupBy([...warnings].sort(byPosition), (w) => fingerprintKey(fingerprintOf(w)));
  const stored = groupBy(
    [...entries].sort((a, b) => (a.line ?? 0) - (b.line ?? 0)),
    // A hand-edited snippet (spaces added) still matches.
    (e) => fingerprintKey({ ...e, snippet: normaliseText(e.snippet, MAX_SNIPPET_CHARS) }),
  );
  const newWarnings: NewWarning<W>[] = [];
  const baselined: W[] = [];
  const fixed: ClippyBaselineEntry[] = [];
  for (const [key, found] of current) {
    const held = stored.get(key)?.length ?? 0;
    baselined.push(...found.slice(0, held));
    const extra = found.slice(held);
    const identical =
      held === 0 ? undefined : { found: found.length, baselined: held, lines: found.map((w) => w.line ?? 0).filter((l) => l > 0) };
    newWarnings.push(...extra.map((warning) => (identical === undefined ? { warning } : { warning, identical })));
  }
  for (const [key, held] of stored) fixed.push(...held.slice(current.get(key)?.length ?? 0));
  newWarnings.sort((a, b) => byPosition(a.warning, b.warning));
  fixed.sort((a, b) => (a.file ?? "").localeCompare(b.file ?? "") || (a.line ?? 0) - (b.line ?? 0));
  return { newWarnings, baselined, fixed };
}
