/** Writes the approvals the gate counted to the audit log. */

import { appendAuditEntry } from "../audit-log/append.js";
import type { AuditEntry } from "../audit-log/entry.js";
import type { LockOptions } from "../audit-log/lock.js";
import type { ApprovalDecision } from "./decide.js";

/**
 * Appends one `approval` entry to the audit log per counted approval (data: approver, source, tag, at, and the
 * commit when given), in the decision's order, whether or not the decision approved the release. The entry's own
 * time is now (the log's times may not go backwards); the approval's time is `data.at`.
 * @param actor Who ran the gate (the CI actor or user).
 * @throws AuditLogError if the log cannot be appended to.
 */
export function recordApprovals(
  auditFile: string,
  decision: Pick<ApprovalDecision, "counted">,
  options: { readonly tag: string; readonly actor: string; readonly commit?: string } & LockOptions,
): AuditEntry[] {
  const { tag, actor, commit, ...lock } = options;
  return decision.counted.map((approval) =>
    appendAuditEntry(
      auditFile,
      {
        kind: "approval",
        actor,
        data: {
          approver: approval.approver,
          source: approval.source,
          tag,
          at: approval.at.toISOString(),
          ...(commit === undefined ? {} : { commit }),
        },
      },
      lock,
    ),
  );
}
