/**
 * The last step of staging: when every staging gate passed, the promotion
 * record of the commit (its binaries' SHA-256, the staging reports' digests,
 * the test hosts, the time on the pipeline's clock), signed with the release
 * key and stored as `refs/shriven-pipeline/promotions/<commit>`, where
 * production looks for it.
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { loadSigningKey } from "../../adapters/minisign.js";
import type { Step, StepContext, StepOutcome, StepResult } from "../../engine/step.js";
import { type PromotedReport, sha256Of, signPromotion } from "../../release/promotion.js";
import { writePromotion } from "../../release/promotion-store.js";
import { deployedTo } from "../shared/deploy.js";
import { needHost } from "../shared/host.js";
import { builtRelease } from "../shared/signed-release.js";

/** The staging steps a promotion vouches for: each must have passed (or warned) in this run. */
export const PROMOTED_STEPS = [
  "release-build",
  "integration-tests",
  "risk-validation",
  "benchmarks",
  "paper-trading",
  "deploy-test",
  "smoke-tests",
] as const;

/** The step's result as the report holds it, without its timing and log file, and its digest. */
function reportOf(result: StepResult): PromotedReport {
  const { durationMs: _duration, logFile: _log, ...reported } = result;
  return { step: result.id, status: result.status, summary: result.summary, sha256: sha256Of(JSON.stringify(reported)) };
}

async function promote(context: StepContext): Promise<StepOutcome> {
  const host = needHost(context, "the promotion record");
  const completed = context.completed ?? new Map<string, StepResult>();
  const unproven = PROMOTED_STEPS.filter((id) => !["passed", "warned"].includes(completed.get(id)?.status ?? "not run"));
  if (unproven.length > 0)
    return {
      status: "failed",
      summary: `no promotion record: ${unproven.map((id) => `${id} ${completed.get(id)?.status ?? "not run"}`).join(", ")}; production takes only a commit every staging gate passed`,
    };
  const release = builtRelease(host);
  const deployed = deployedTo(host, "test");
  if (release === undefined || deployed === undefined)
    return { status: "failed", summary: "no promotion record: nothing was built and deployed to the test hosts in this run" };
  const keyText = host.secret("RELEASE_SIGNING_KEY");
  if (keyText === undefined)
    return { status: "failed", summary: "the RELEASE_SIGNING_KEY secret is missing: the promotion record is signed" };
  const now = new Date(host.clock.now());
  const signed = signPromotion(
    {
      commit: release.commit,
      promotedAt: now.toISOString(),
      artifacts: release.artifacts,
      reports: PROMOTED_STEPS.map((id) => reportOf(completed.get(id) as StepResult)),
      testHosts: deployed.hosts.map((h) => h.host),
      ...(host.runUrl === undefined ? {} : { run: host.runUrl }),
    },
    loadSigningKey(keyText, "RELEASE_SIGNING_KEY"),
    now,
  );
  const scratch = join(".shriven-pipeline", `promotion-${randomBytes(6).toString("hex")}`);
  const ref = await writePromotion((command) => context.exec(command), release.commit, signed, {
    host: join(host.workspace, scratch),
    workspace: join(context.workspaceDir, scratch),
  });
  return {
    status: "passed",
    summary: `${release.commit.slice(0, 12)} promoted at ${now.toISOString()}: ${ref}, signed by key ${release.keyId}`,
    details: [
      ...release.artifacts.map((a) => `${a.sha256}  ${a.binary} (${a.name})`),
      `test hosts: ${deployed.hosts.map((h) => h.host).join(", ")}`,
      `record SHA-256 ${sha256Of(signed.text)}`,
    ],
  };
}

/** The signed promotion record of the commit every staging gate passed. */
export const promotionStep: Step = {
  id: "promotion",
  title: "Promotion record",
  description: "the signed record of what staging validated (binaries' SHA-256, reports, test hosts, time), stored for production",
  defaultTimeoutSeconds: 120,
  run: promote,
};
