/** The error of provenance that cannot be built, signed or verified. */
import { ProblemsError } from "../../core/errors.js";

/** Provenance that cannot be built, signed or verified. Each problem names the field or the check that failed. */
export class ProvenanceError extends ProblemsError {
  override readonly name: string = "ProvenanceError";
}
