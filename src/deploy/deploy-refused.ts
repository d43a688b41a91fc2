/** The error of a deploy or rollback that could not start. */
import { PipelineError } from "../core/errors.js";

/** The deploy could not start (lock held, release not verified); nothing was switched. */
export class DeployRefused extends PipelineError {
  override readonly name: string = "DeployRefused";
}
