/** The failed outcome of a production step. */
import type { StepOutcome } from "../../engine/step.js";

/** A failed outcome with its summary and, when given, its details. */
export function failed(summary: string, details?: readonly string[]): StepOutcome {
  return {
    status: "failed",
    summary,
    ...(details === undefined ? {} : { details }),
  };
}
