/** `shriven-pipeline verify`: a release folder checked offline — signatures, checksums, provenance. */
import { type CliCommand, lazyRun } from "../command.js";

/** `verify --dir DIR --public-key FILE` */
export const command: CliCommand = {
  name: "verify",
  summary: "Check a release folder: signatures, checksums, provenance",
  usage: ["--dir DIR --public-key minisign.pub"],
  options: { dir: { type: "string" }, "public-key": { type: "string" } },
  run: lazyRun(() => import("../actions/verify.js")),
};
