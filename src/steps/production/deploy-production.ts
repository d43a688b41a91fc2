/** The deploy of the signed release to the pinned production hosts. */
import type { Step } from "../../engine/step.js";
import { deployStep } from "../shared/deploy.js";

/** The signed release to the pinned production hosts. */
export const deployProductionStep: Step = deployStep("production", {
  id: "deploy-production",
  title: "Deploy to production",
  description: "the signed release to the pinned production hosts: lock, upload, checksum, switch, health check",
});
