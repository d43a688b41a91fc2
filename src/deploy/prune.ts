/** Release retention on a host: the newest releases are kept, and never `current` or its predecessor. */
import type { DeployContext } from "./context.js";
import type { DeployHost } from "./policy.js";

const RETAIN = `
cd "$1/releases" || exit 0
keep="$2"; cur="$3"; prev="$4"; n=0
for d in $(ls -1t); do
  case "$d" in .partial-*) continue;; esac
  n=$((n + 1))
  if [ "$n" -le "$keep" ] || [ "releases/$d" = "$cur" ] || [ "releases/$d" = "$prev" ]; then continue; fi
  rm -rf -- "$d" && echo "$d"
done`;

/** Removes the releases of `host` beyond the inventory's `retain`, keeping `version` and `previous`; the names removed. */
export async function pruneReleases(
  context: DeployContext,
  host: DeployHost,
  version: string,
  previous: string | undefined,
): Promise<string[]> {
  const pruned = await context.session.run(
    host,
    RETAIN,
    [host.path, String(context.inventory.retain), `releases/${version}`, previous ?? ""],
    {
      timeoutMs: 60_000,
    },
  );
  return pruned.stdout.trim().split("\n").filter(Boolean);
}
