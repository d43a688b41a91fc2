/** The error of fetching approvals, and what it reports of its causes. */
import { PipelineError } from "../core/errors.js";

/** Fetching approvals failed; the message says what was being done and why, never the token. */
export class ApprovalError extends PipelineError {
  override readonly name: string = "ApprovalError";

  /** @param status The HTTP status GitHub answered with, when it answered. */
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}
