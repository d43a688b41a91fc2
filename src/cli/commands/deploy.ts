/** `shriven-pipeline deploy`: a signed release to the pinned hosts of an environment. */
import { type CliCommand, lazyRun } from "../command.js";
import { DEPLOY_OPTIONS } from "../deploy-options.js";

/** `deploy --env test|production --release DIR [--emergency REASON] [--source DIR] [--ssh-key-file F] [--break-lock]` */
export const command: CliCommand = {
  name: "deploy",
  summary:
    "Deploy a signed release to the pinned hosts of [deploy.<env>] (SSH key: $SSH_DEPLOY_KEY); production only with --emergency (else use run production)",
  usage: ["--env test|production --release DIR [--emergency REASON] [--source DIR] [--ssh-key-file FILE] [--break-lock]"],
  options: { ...DEPLOY_OPTIONS, release: { type: "string" }, emergency: { type: "string" } },
  run: lazyRun(() => import("../actions/deploy.js")),
};
