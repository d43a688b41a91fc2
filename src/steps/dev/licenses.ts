import { cargo, REGISTRY_TOKEN, rawFailure } from "../../cargo/commands.js";
import { plural } from "../../cargo/messages.js";
import { ConfigError } from "../../core/errors.js";
import type { Step, StepContext, StepOutcome } from "../../engine/step.js";
import { readCargoMetadata } from "../../supply-chain/cargo-metadata.js";
import { evaluateLicense, type LicensePolicy } from "../../supply-chain/license-policy.js";

/** Offending crates named in the one-line summary. */
const NAMED_IN_SUMMARY = 3;

/** Licence verdicts for `cargo metadata` output, as a step outcome: failed when any crate's licence is not allowed. */
function licenseOutcome(metadataJson: string, policy: LicensePolicy): StepOutcome {
  let packages: ReturnType<typeof readCargoMetadata>;
  try {
    packages = readCargoMetadata(metadataJson, "cargo metadata");
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return { status: "failed", summary: `cargo metadata output cannot be read: ${error.problems[0]}`, details: [...error.problems] };
  }
  const verdicts = packages.map((p) => ({
    crate: p.name,
    version: p.version,
    ...evaluateLicense(
      { crate: p.name, version: p.version, license: p.license, licenseFile: p.licenseFile, isWorkspaceMember: p.isWorkspaceMember },
      policy,
    ),
  }));
  const rejected = verdicts.filter((v) => !v.accepted);
  const line = (v: (typeof verdicts)[number]) => `${v.crate} ${v.version} (${v.expression ?? "no licence"}): ${v.reason}`;
  const data = {
    crates: verdicts.map((v) => ({
      name: v.crate,
      version: v.version,
      expression: v.expression ?? null,
      accepted: v.accepted,
      reason: v.reason,
    })),
  };
  if (rejected.length > 0) {
    const named = rejected.slice(0, NAMED_IN_SUMMARY).map((v) => `${v.crate} ${v.version} (${v.expression ?? "no licence"})`);
    const more = rejected.length > NAMED_IN_SUMMARY ? `, and ${rejected.length - NAMED_IN_SUMMARY} more` : "";
    return {
      status: "failed",
      summary: `${plural(rejected.length, "crate")} not allowed: ${named.join(", ")}${more}`,
      details: rejected.map(line),
      data,
    };
  }
  return { status: "passed", summary: `All ${plural(verdicts.length, "crate")} allowed`, data };
}

/** Licences of every crate (from `cargo metadata`) against the licence policy: no GPL dependencies. */
export const licensesStep: Step = {
  id: "licenses",
  title: "Licences",
  description: "cargo metadata licences against the policy: permissive licences, no GPL family",
  defaultTimeoutSeconds: 300,
  async run(context: StepContext): Promise<StepOutcome> {
    const result = await context.exec({ ...cargo(["metadata", "--format-version", "1"]), secretEnv: [REGISTRY_TOKEN] });
    if (result.exitCode !== 0) return { status: "failed", ...rawFailure("cargo metadata", result.exitCode, result.stderr) };
    return licenseOutcome(result.stdout, context.policies.licenses);
  },
};
