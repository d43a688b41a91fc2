#!/usr/bin/env bash
# Roll production back to a retained release, the way the pipeline document's
# manual rollback does (stop, switch to the backup binary, start), but with the
# signature re-verified, a health check, the deploy lock and an audit-log entry.
#
#   scripts/rollback-production.sh v1.1.9 [--source DIR] [--break-lock]
#
# The SSH key comes from $SSH_DEPLOY_KEY (or pass --ssh-key-file FILE).
set -euo pipefail
if [ "$#" -lt 1 ] || [[ "$1" != v* ]]; then
  echo "usage: $0 vX.Y.Z [--source DIR] [--ssh-key-file FILE] [--break-lock]" >&2
  exit 2
fi
version="$1"
shift
here="$(cd "$(dirname "$0")/.." && pwd)"
exec node "$here/bin/shriven-pipeline.js" rollback --env production --to "$version" "$@"
