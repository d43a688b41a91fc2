#!/usr/bin/env bash
# Run a stage locally, as the pipeline document's "Local Testing" section shows:
#
#   scripts/deploy/local-deploy.sh dev  [--source DIR] [options of `run`]   the dev stage
#   scripts/deploy/local-deploy.sh test [--source DIR] [options of `run`]   staging as a local run (run staging
#                                                                           --local): to the [deploy.test] hosts
#                                                                           of shriven-pipeline.toml (secret:
#                                                                           SSH_DEPLOY_KEY), or, with none, to its
#                                                                           local targets on this machine
#   scripts/deploy/local-deploy.sh prod --tag vX.Y.Z [--source DIR] ...     a local rehearsal of production
#                                                                           (run production --local): to the
#                                                                           [deploy.production] hosts, or, with
#                                                                           none, its local targets; TRADING_MODE
#                                                                           is forced to paper, never live, and a
#                                                                           banner says so
#
# Without RELEASE_SIGNING_KEY (or --env-file), a local run signs with a key generated for it, pinned for its
# local targets only; every local target's service is stopped when the run ends.
set -euo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
usage() { echo "usage: $0 dev|test|prod [--source DIR] [options of shriven-pipeline run]" >&2; exit 2; }
[ "$#" -ge 1 ] || usage
target="$1"
shift
case "$target" in
  dev) exec node "$here/bin/shriven-pipeline.js" run dev "$@" ;;
  test) exec node "$here/bin/shriven-pipeline.js" run staging --local "$@" ;;
  prod) exec node "$here/bin/shriven-pipeline.js" run production --local "$@" ;;
  *) usage ;;
esac
