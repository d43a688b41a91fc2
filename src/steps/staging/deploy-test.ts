/** The deploy of the signed release to the test hosts, after each host's latency reference is read. */
import type { Step } from "../../engine/step.js";
import { deployBuiltRelease } from "../shared/deploy.js";
import { latencyReferences, recordLatencyReferences } from "./latency-references.js";

/** The signed release to the test hosts; first, each host's latency from the release it serves (staging's reference). */
export const deployTestStep: Step = {
  id: "deploy-test",
  title: "Deploy to test servers",
  description: "the signed release to the pinned test hosts: lock, upload, checksum, switch, health check",
  defaultTimeoutSeconds: 900,
  run: (context) =>
    deployBuiltRelease(context, "test", async (host, inventory, session) => {
      if (context.policies.monitor.staging.durationMs > 0)
        recordLatencyReferences(host, await latencyReferences(context, host, inventory, session));
    }),
};
