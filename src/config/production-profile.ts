/** The profile rules a production run holds to, besides those the profile itself enforces. */
import type { Profile } from "./env-profile.js";

/**
 * Why the profile may not run production, or undefined: it must be the production profile, trading live
 * (paper in a local rehearsal).
 */
export function productionProfileProblem(
  profile: Pick<Profile, "ENVIRONMENT" | "TRADING_MODE">,
  localRehearsal: boolean,
): string | undefined {
  if (profile.ENVIRONMENT !== "production")
    return `the profile is ${profile.ENVIRONMENT}, not production: production never runs with another environment's profile`;
  const wanted = localRehearsal ? "paper" : "live";
  if (profile.TRADING_MODE !== wanted)
    return localRehearsal
      ? `TRADING_MODE is ${profile.TRADING_MODE}: a local rehearsal trades paper only`
      : `TRADING_MODE is ${profile.TRADING_MODE}: the production profile trades live`;
  return undefined;
}
