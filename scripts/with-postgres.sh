#!/usr/bin/env bash
# Runs a command with COFFER_TEST_POSTGRES_URL set: the caller's, or a throwaway local server's,
# which is stopped afterwards whatever the command's outcome.
set -euo pipefail
if [ -z "${COFFER_TEST_POSTGRES_URL:-}" ]; then
    scratch=$(mktemp -d /tmp/coffer-pg.XXXXXX)
    chmod 755 "$scratch"
    trap 'bash "$(dirname "$0")/postgres-test-server.sh" stop "$scratch/pg"; rm -rf "$scratch"' EXIT
    COFFER_TEST_POSTGRES_URL=$(bash "$(dirname "$0")/postgres-test-server.sh" start "$scratch/pg")
    export COFFER_TEST_POSTGRES_URL
    echo "Started a throwaway PostgreSQL at $COFFER_TEST_POSTGRES_URL" >&2
fi
"$@"
