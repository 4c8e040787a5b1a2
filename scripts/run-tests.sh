#!/usr/bin/env bash
# `make test`: build with tests, then run them all, PostgreSQL ones against a real server.
set -euo pipefail
swift=${1:-swift}
cd "$(dirname "$0")/.."
exec bash scripts/with-postgres.sh "$swift" test
