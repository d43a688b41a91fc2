/** `shriven-pipeline publish`: a signed release folder made by `release`, published as a GitHub release. */
import { type CliCommand, lazyRun } from "../command.js";

/** `publish --dir DIR --tag vX.Y.Z [--repository OWNER/NAME] [--source DIR] [--report FILE]...` */
export const command: CliCommand = {
  name: "publish",
  summary: "Publish a signed release folder as a GitHub release (idempotent; token: $GITHUB_TOKEN)",
  usage: ["--dir DIR --tag vX.Y.Z [--repository OWNER/NAME] [--report FILE.md]..."],
  options: {
    dir: { type: "string" },
    tag: { type: "string" },
    repository: { type: "string" },
    source: { type: "string" },
    report: { type: "string", multiple: true },
  },
  run: lazyRun(() => import("../actions/publish.js")),
};
