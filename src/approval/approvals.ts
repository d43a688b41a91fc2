/**
 * What the approval gate weighs: approvals and rejections, where each came from, and the approvals that were
 * not counted.
 */

/** Where an approval or rejection came from. */
export type ApprovalSource = "github" | "file";

/** Someone approved the release. */
export interface Approval {
  /** A GitHub login or a configured approver's name. */
  readonly approver: string;
  /** When it was given (the file's `at`), or, for GitHub, when it was read (GitHub does not say). */
  readonly at: Date;
  readonly source: ApprovalSource;
  /** Where it was found: the file, or the environments and comment of the GitHub review. */
  readonly detail?: string;
}

/** Someone rejected the release: that alone refuses it. */
export interface Rejection {
  readonly approver: string;
  readonly at: Date;
  readonly source: ApprovalSource;
  /** The reviewer's comment, if any. */
  readonly comment?: string;
}

/** An approval that was not counted, and why. */
export interface IgnoredApproval {
  /** Who it claims to be from (for an unreadable file, the name in the file name). */
  readonly approver: string;
  readonly reason: string;
  /** The approval file, for approvals that came from one. */
  readonly file?: string;
}
