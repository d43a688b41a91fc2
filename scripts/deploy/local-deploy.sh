#!/usr/bin/env bash
# Run a stage locally, as the pipeline document's "Local Testing" section shows:
#
#   scripts/deploy/local-deploy.sh dev  [--source DIR] [options of `run`]   the dev stage
#   scripts/deploy/local-deploy.sh test [--source DIR] [options of `run`]   staging, against the [deploy.test]
#                                                                           hosts of shriven-pipeline.toml
#                                                                           (secrets: SSH_DEPLOY_KEY,
#                                                                           RELEASE_SIGNING_KEY, or --env-file)
#   scripts/deploy/local-deploy.sh prod --tag vX.Y.Z [--source DIR] ...     a local rehearsal of production
#                                                                           against the [deploy.production] hosts
#                                                                           of shriven-pipeline.toml (local ones):
#                                                                           TRADING_MODE is forced to paper, never
#                                                                           live, and a banner says so
set -euo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
usage() { echo "usage: $0 dev|test|prod [--source DIR] [options of shriven-pipeline run]" >&2; exit 2; }
[ "$#" -ge 1 ] || usage
target="$1"
shift
case "$target" in
  dev) exec node "$here/bin/shriven-pipeline.js" run dev "$@" ;;
  test) exec node "$here/bin/shriven-pipeline.js" run staging "$@" ;;
  prod) exec node "$here/bin/shriven-pipeline.js" run production --local "$@" ;;
  *) usage ;;
esac
