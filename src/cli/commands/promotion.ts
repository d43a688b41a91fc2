/**
 * `shriven-pipeline promotion push --records F`: publishes the promotion record a staging stage run in Dagger
 * printed (see src/release/promotion-ref.ts) to `refs/shriven-pipeline/promotions/<commit>` on a remote, where
 * the production workflow fetches it.
 */
import { type CliCommand, lazyRun } from "../command.js";

/** `promotion push --records F [--source DIR] [--remote origin]` */
export const command: CliCommand = {
  name: "promotion",
  operands: "push",
  summary: "Publish the promotion record a staging run in Dagger printed to refs/shriven-pipeline/promotions/<commit>",
  usage: ["push --records F [--source DIR] [--remote origin]"],
  options: {
    records: { type: "string" },
    source: { type: "string" },
    remote: { type: "string" },
  },
  run: lazyRun(() => import("../actions/promotion.js")),
};
