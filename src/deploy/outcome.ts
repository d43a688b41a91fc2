/** What a deploy or rollback did on each host, as a report line, an audit-log entry and a short summary. */

/** What happened on one host. */
export interface HostOutcome {
  readonly host: string;
  /** The release `current` pointed to before (`releases/1.2.0`), if any. */
  readonly previous: string | undefined;
  /** stopped: it had no release to go back to, so its service was stopped and `current` removed. */
  readonly result: "deployed" | "rolled-back" | "stopped" | "not-switched" | "failed";
  readonly detail: string;
}

/** The outcome of a deploy or rollback. */
export interface DeployOutcome {
  readonly action: "deploy" | "rollback";
  readonly environment: string;
  readonly version: string;
  /** deployed: every host serves the version; rolled-back: it was switched and put back; failed: not switched. */
  readonly status: "deployed" | "rolled-back" | "failed";
  readonly summary: string;
  readonly hosts: readonly HostOutcome[];
}

/** The outcome as text: a title line, then one line per host (no trailing newline). */
export function renderOutcome(outcome: DeployOutcome): string {
  const icon = outcome.status === "deployed" ? "✅" : "❌";
  const title =
    outcome.action === "deploy"
      ? `Deploy ${outcome.version} to ${outcome.environment}`
      : `Rollback of ${outcome.environment} to ${outcome.version}`;
  return [
    `${icon} ${title}: ${outcome.status} — ${outcome.summary}`,
    ...outcome.hosts.map((h) => `    ${h.host}: ${h.result} — ${h.detail}`),
  ].join("\n");
}

/** The audit-log entry of a deploy or rollback: who, what version, which hosts (with what they ran before), the result. */
export function deployAuditEntry(
  outcome: DeployOutcome,
  actor: string,
  extra: Readonly<Record<string, string>> = {},
): { kind: "deploy" | "rollback"; actor: string; data: Record<string, string | readonly Record<string, string | null>[]> } {
  return {
    kind: outcome.action,
    actor,
    data: {
      environment: outcome.environment,
      version: outcome.version,
      status: outcome.status,
      summary: outcome.summary,
      hosts: outcome.hosts.map((h) => ({ host: h.host, result: h.result, previous: h.previous ?? null })),
      ...extra,
    },
  };
}

/** What the switched hosts of a failed deploy ended on, in a few words. */
export function restoredSummary(restored: readonly (HostOutcome | undefined)[]): string {
  const named = (result: HostOutcome["result"]) => restored.flatMap((h) => (h?.result === result ? [h.host] : []));
  const stopped = named("stopped");
  const stuck = named("failed");
  if (stopped.length === 0 && stuck.length === 0) return "every switched host is back on its previous release";
  return [
    named("rolled-back").length > 0 ? `back on their previous release: ${named("rolled-back").join(", ")}` : "",
    stopped.length > 0 ? `stopped, having no previous release: ${stopped.join(", ")}` : "",
    stuck.length > 0 ? `not restored: ${stuck.join(", ")}` : "",
  ]
    .filter((part) => part !== "")
    .join("; ");
}
