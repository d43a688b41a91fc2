/** The deployment window: deploys only while the market is closed; an emergency override needs a reason and is audit-logged. */
import { appendAuditEntry } from "../../audit-log/append.js";
import { UsageError } from "../../core/errors.js";
import { checkDeployWindow } from "../../deploy-window/check.js";
import { overrideDeployWindow } from "../../deploy-window/override.js";
import { formatLocalTime } from "../../deploy-window/wall-clock.js";
import type { HostCapabilities, Step, StepContext, StepOutcome } from "../../engine/step.js";
import { auditLogOf, needHost } from "../shared/host.js";
import { failed } from "./failed.js";

function windowGate(context: StepContext, host: HostCapabilities): StepOutcome {
  const window = context.policies.deployWindow;
  const now = new Date(host.clock.now());
  const check = checkDeployWindow(now, window);
  if (check.allowed) return { status: "passed", summary: check.reason };
  const reason = host.inputs.overrideWindow;
  if (reason === undefined) return failed(`${check.reason} (emergency: --override-window "REASON")`);
  let override: ReturnType<typeof overrideDeployWindow>;
  try {
    override = overrideDeployWindow(check, { reason, who: host.who, at: now });
  } catch (error) {
    if (error instanceof UsageError) return failed(`override refused: ${error.message}`);
    throw error;
  }
  appendAuditEntry(auditLogOf(host), {
    kind: "override",
    actor: host.who,
    data: {
      gate: "deploy-window",
      reason: override.override.reason,
      at: now.toISOString(),
      local: formatLocalTime(now, window.timeZone),
      overridden: check.reason,
      ...(host.inputs.tag === undefined ? {} : { tag: host.inputs.tag }),
      ...(host.runUrl === undefined ? {} : { run: host.runUrl }),
    },
  });
  return { status: "warned", summary: override.reason };
}

/** Deploys only while the market is closed; an emergency override needs its own reason and is audit-logged. */
export const deployWindowStep: Step = {
  id: "deploy-window",
  title: "Deployment window",
  description: "deploys only while the market is closed ([deploy_window]); an emergency override is audit-logged",
  defaultTimeoutSeconds: 60,
  run: async (context) => windowGate(context, needHost(context, "the deployment window")),
};
