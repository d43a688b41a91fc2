/**
 * What every stage run records in the audit log once its steps are done: the test results (counts and the
 * failing tests, bounded), the benchmark results, and the stage's own verdict with each step's status — the
 * pipeline document's "every test result, benchmark, approval and rollback is logged" (deploys, rollbacks,
 * approvals and overrides are recorded by their steps as they happen). Returns the chain head, which the
 * report, the Slack notice and the release notes carry.
 */
import { appendAuditEntry } from "../audit-log/append.js";
import { AuditLogError } from "../audit-log/audit-log-error.js";
import { type AuditChainHead, auditChainHead } from "../audit-log/head.js";
import type { StepResult } from "../engine/step.js";

/** Steps whose results are tests: counted per step. */
const TEST_STEPS = new Set(["test", "integration-tests", "risk-validation", "smoke-tests"]);
/** Steps whose results are benchmarks or performance gates. */
const BENCHMARK_STEPS = new Set(["perf-check", "benchmarks", "paper-trading", "performance", "hot-path"]);
/** Failing tests named per entry; the count says how many there were in all. */
const FAILURES_MAX = 20;
/** Detail lines kept per benchmark entry. */
const DETAILS_MAX = 20;
/** Longest text kept from a step (names, summaries, details). */
const TEXT_MAX = 300;

const bounded = (text: string): string => (text.length > TEXT_MAX ? `${text.slice(0, TEXT_MAX - 1)}…` : text);

/** The run whose steps are recorded. */
export interface StageRunRecord {
  readonly stage: string;
  readonly status: string;
  readonly steps: readonly StepResult[];
  readonly who: string;
  readonly runUrl?: string;
  /** The release tag of a production run. */
  readonly tag?: string;
}

/** What {@link recordStageRun} did. */
export interface StageAudit {
  readonly log: string;
  /** Entries appended by this call. */
  readonly appended: number;
  readonly head?: AuditChainHead;
  /** Why the run could not be recorded (the run then fails: a run without its record is not a passing run). */
  readonly error?: string;
}

function testData(step: StepResult): Record<string, unknown> {
  const tests = step.tests ?? [];
  const failed = tests.filter((t) => t.status === "failed");
  return {
    step: step.id,
    status: step.status,
    summary: bounded(step.summary),
    total: tests.length,
    passed: tests.filter((t) => t.status === "passed").length,
    failed: failed.length,
    ignored: tests.filter((t) => t.status === "ignored").length,
    failures: failed.slice(0, FAILURES_MAX).map((t) => bounded(`${t.suite}::${t.name}`)),
  };
}

function benchmarkData(step: StepResult): Record<string, unknown> {
  return {
    step: step.id,
    status: step.status,
    summary: bounded(step.summary),
    details: step.details.slice(0, DETAILS_MAX).map(bounded),
  };
}

/**
 * Appends the run's test, benchmark and stage entries to the log at `file` (steps that did not run are left
 * out) and returns the chain head. Never throws: a log that cannot be appended is reported in `error`.
 */
export function recordStageRun(file: string, run: StageRunRecord): StageAudit {
  const ran = run.steps.filter((s) => s.status !== "skipped" && s.status !== "cancelled");
  const common = { actor: run.who };
  const extra = { ...(run.runUrl === undefined ? {} : { run: run.runUrl }), ...(run.tag === undefined ? {} : { tag: run.tag }) };
  let appended = 0;
  try {
    for (const step of ran) {
      if (TEST_STEPS.has(step.id) || (step.tests?.length ?? 0) > 0) {
        appendAuditEntry(file, { ...common, kind: "test", data: { stage: run.stage, ...testData(step), ...extra } });
        appended++;
      } else if (BENCHMARK_STEPS.has(step.id)) {
        appendAuditEntry(file, { ...common, kind: "benchmark", data: { stage: run.stage, ...benchmarkData(step), ...extra } });
        appended++;
      }
    }
    appendAuditEntry(file, {
      ...common,
      kind: "stage",
      data: { stage: run.stage, status: run.status, steps: run.steps.map((s) => ({ id: s.id, status: s.status })), ...extra },
    });
    appended++;
    const head = auditChainHead(file);
    return { log: file, appended, ...(head === undefined ? {} : { head }) };
  } catch (error) {
    if (!(error instanceof AuditLogError)) throw error;
    return { log: file, appended, error: error.message };
  }
}
