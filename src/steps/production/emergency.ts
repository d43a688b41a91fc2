/** What production's emergency hotfix (`run production --emergency REASON`) may skip, and why. */

/**
 * What the emergency hotfix skips, with why the pipeline document allows it: "Never skip tests (except emergency
 * hotfix)" — production's tests are its performance validation; "Manual override if emergency" — the
 * deployment window. Everything else still runs: the tag, the audit and licence checks, the signed build, the
 * two approvals (and their wait), the deploy with its health checks and automatic rollback, the 30 minutes of
 * monitoring ("Monitor for 30 minutes after production deploy") and the GitHub release, whose notes say it was
 * an emergency.
 */
export const EMERGENCY_SKIPS: ReadonlyMap<string, string> = new Map([
  ["performance", "benchmarks against the baseline (the document: never skip tests, except in an emergency hotfix)"],
  ["hot-path", "hot-path allocations and memory (the document: never skip tests, except in an emergency hotfix)"],
  ["deploy-window", "the market-closed deployment window (the document: manual override if emergency)"],
]);
