/**
 * The emergency override of a refused deploy window: a deploy while the market
 * trades needs its own reason, which the caller writes to the audit log.
 */
import { UsageError } from "../core/errors.js";
import type { DeployWindowCheck } from "./check.js";
import { assertValidDate } from "./wall-clock.js";

/** An emergency override of a refused deploy window; the caller writes it to the audit log. */
export interface DeployWindowOverride {
  readonly allowed: true;
  /** One line for the report: who overrode what, and why. */
  readonly reason: string;
  readonly override: {
    /** The override's own reason, trimmed. */
    readonly reason: string;
    /** Who gave it (trimmed). */
    readonly who: string;
    /** When it was given. */
    readonly at: Date;
  };
  /** The check that was overridden. */
  readonly overridden: DeployWindowCheck;
}

/** Shortest emergency-override reason accepted (after trimming). */
export const MIN_OVERRIDE_REASON_LENGTH = 10;

/**
 * Overrides the deploy window in an emergency. The override needs its own reason:
 * at least {@link MIN_OVERRIDE_REASON_LENGTH} characters after trimming, and not the
 * gate's message repeated; `who` must not be blank.
 * @param input.at When the override is given; the real clock when absent.
 * @throws UsageError when the reason or `who` is refused.
 */
export function overrideDeployWindow(check: DeployWindowCheck, input: { reason: string; who: string; at?: Date }): DeployWindowOverride {
  const reason = input.reason.trim();
  const who = input.who.trim();
  if (reason.length < MIN_OVERRIDE_REASON_LENGTH) {
    throw new UsageError(
      `the override needs its own reason: at least ${MIN_OVERRIDE_REASON_LENGTH} characters saying why the deploy cannot wait (got ${JSON.stringify(input.reason)})`,
    );
  }
  if (reason === check.reason.trim()) {
    throw new UsageError("the override needs its own reason, not the deploy window's message repeated");
  }
  if (who === "") throw new UsageError("the override needs who gives it (a user name), for the audit log");
  const at = input.at ?? new Date();
  assertValidDate(at);
  return {
    allowed: true,
    reason: `deploy window overridden by ${who}: ${reason} (${check.reason})`,
    override: { reason, who, at },
    overridden: check,
  };
}
