/**
 * The approval gate's decision, pure (the time is passed in): enough distinct approvers besides the tag's
 * author, no rejection, and the wait timer run out.
 */

import { rfc3339Utc } from "../core/rfc3339.js";
import type { Approval, ApprovalSource, IgnoredApproval, Rejection } from "./approvals.js";
import type { ApprovalPolicy } from "./policy.js";

/** What {@link decideApproval} weighs. */
export interface ApprovalDecisionInput {
  /** Every approval found, from any source. */
  readonly approvals: readonly Approval[];
  /** Every rejection found; any one refuses the release. */
  readonly rejections?: readonly Rejection[];
  /** Approvals already found invalid (such as `FileApprovals.invalid` of `approvalsFromFiles`), passed on into `ignored`. */
  readonly invalid?: readonly IgnoredApproval[];
  /** The tag's verified author (who pushed it, or whose key signed it); their approval does not count. */
  readonly tagAuthor: string;
  /** When the wait timer started: a time the pipeline recorded (see wait-start.ts), never the tagger date. */
  readonly waitStartsAt: Date;
  readonly now: Date;
  readonly policy: Pick<ApprovalPolicy, "required" | "waitMinutes">;
}

/** An approval that counted. */
export interface CountedApproval {
  readonly approver: string;
  readonly at: Date;
  readonly source: ApprovalSource;
}

/** The gate's verdict. */
export interface ApprovalDecision {
  readonly approved: boolean;
  /** One line: why it is approved, or every reason it is not. */
  readonly reason: string;
  /** One per distinct approver, earliest first. */
  readonly counted: CountedApproval[];
  /** Approvals that did not count, and why. */
  readonly ignored: IgnoredApproval[];
  /** The rejections, which refuse the release. */
  readonly rejections: Rejection[];
  /** When the wait timer ends (or ended). */
  readonly waitEndsAt: Date;
}

const MINUTE_MS = 60_000;

/** The reason an approval by the tag's author is ignored. */
export const SELF_APPROVAL_REASON = "the tag author cannot approve their own release";

/**
 * Decides the gate: counts distinct approvers (names compared ignoring case; the earliest approval of each
 * counts), leaving out the tag author; refuses on any rejection, on fewer than `policy.required` approvals,
 * and while `now` is before `waitStartsAt` + `policy.waitMinutes`. Pure: the time is `now`.
 * @throws RangeError if a time is an invalid Date.
 */
export function decideApproval(input: ApprovalDecisionInput): ApprovalDecision {
  for (const [name, date] of [
    ["waitStartsAt", input.waitStartsAt],
    ["now", input.now],
  ] as const) {
    if (!(date instanceof Date) || Number.isNaN(date.getTime())) throw new RangeError(`${name}: an invalid Date`);
  }
  const { required, waitMinutes } = input.policy;
  const author = input.tagAuthor.trim().toLowerCase();
  const counted: CountedApproval[] = [];
  const ignored: IgnoredApproval[] = [...(input.invalid ?? [])];
  const seen = new Set<string>();
  const byTime = [...input.approvals].sort((a, b) => a.at.getTime() - b.at.getTime());
  for (const approval of byTime) {
    const name = approval.approver.trim();
    const key = name.toLowerCase();
    if (key === "") ignored.push({ approver: name, reason: "no approver name" });
    else if (author !== "" && key === author) ignored.push({ approver: name, reason: SELF_APPROVAL_REASON });
    else if (seen.has(key)) ignored.push({ approver: name, reason: "already counted: an approver counts once" });
    else {
      seen.add(key);
      counted.push({ approver: name, at: approval.at, source: approval.source });
    }
  }

  const problems: string[] = [];
  const rejections = [...(input.rejections ?? [])];
  if (rejections.length > 0) {
    const who = rejections.map((r) => `${r.approver} (${r.source}${r.comment === undefined ? "" : `: ${r.comment}`})`);
    problems.push(`rejected by ${who.join(", ")}`);
  }
  const names = counted.map((c) => c.approver).join(", ");
  if (counted.length < required) {
    problems.push(`${counted.length} of ${required} approvals${counted.length > 0 ? ` (${names})` : ""}`);
  }
  const waitEndsAt = new Date(input.waitStartsAt.getTime() + waitMinutes * MINUTE_MS);
  const leftMs = waitEndsAt.getTime() - input.now.getTime();
  if (leftMs > 0) {
    const minutes = Math.ceil(leftMs / MINUTE_MS);
    problems.push(`wait timer: ${minutes} minute${minutes === 1 ? "" : "s"} left (until ${rfc3339Utc(waitEndsAt)})`);
  }
  const ignoredNote = ignored.length > 0 ? `; ignored: ${ignored.map((i) => `${i.approver || "(no name)"}: ${i.reason}`).join("; ")}` : "";
  const reason =
    problems.length > 0
      ? `${problems.join("; ")}${ignoredNote}`
      : `approved by ${names} (${counted.length} of ${required} required); the wait timer ended at ${rfc3339Utc(waitEndsAt)}${ignoredNote}`;
  return { approved: problems.length === 0, reason, counted, ignored, rejections, waitEndsAt };
}
