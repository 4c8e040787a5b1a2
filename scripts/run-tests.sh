#!/usr/bin/env bash
# `make test`: every test. PostgreSQL tests run against a real server (COFFER_TEST_POSTGRES_URL, or a
# throwaway one started here); crypto vectors are checked against PyNaCl, and Vault-client compatibility
# against hvac, from a local virtualenv (COFFER_TEST_PYTHON, or .venv made here from PyPI); then the API is
# fuzzed from its OpenAPI document (scripts/fuzz-api.py, bounded), killed under load (scripts/crash-test.py,
# a bounded sample), has PostgreSQL halted and SQLite's disk filled under it (scripts/dependency-faults.py), and
# its PostgreSQL primary killed and the standby promoted twice (scripts/failover-test.py), reads served from a
# standby with read-your-writes (scripts/replica-reads-test.py), and through PgBouncer in transaction mode
# (scripts/pgbouncer-test.py);
# the webhook and command rotators run against real targets (scripts/rotator-targets.py), 1,000 secrets come
# over from a real OpenBao (scripts/import-vault.py), the web console runs in headless Chromium
# (scripts/console-browser.py); last, the operator
# targets run from `make install` with nothing else on PATH (scripts/production-targets.py).
set -euo pipefail
swift=${1:-swift}
cd "$(dirname "$0")/.."

if [ -z "${COFFER_TEST_PYTHON:-}" ]; then
    if bash scripts/venv.sh; then
        COFFER_TEST_PYTHON=$PWD/.venv/bin/python
        export COFFER_TEST_PYTHON
    else
        echo "WARNING: could not install the Python tools into .venv; those tests will be skipped (and fail under CI)" >&2
    fi
fi

# After the tests, a bounded schemathesis run over Docs/openapi.yaml on both backends (make fuzz-api is the
# long one): no 5xx, no answer outside the document. Then a bounded kill -9 sample (make crash-test is the
# long one): every acknowledged write survives, the audit trail verifies.
exec bash scripts/with-postgres.sh bash -c '
    status=0
    "$1" test || status=$?
    python=${COFFER_TEST_PYTHON:-python3}
    "$python" scripts/fuzz-api.py --examples "${FUZZ_EXAMPLES:-5}" --schemathesis "$(dirname "$python")/schemathesis" || status=1
    "$python" scripts/crash-test.py --kills "${CRASH_KILLS:-12}" --migration-kills "${CRASH_MIGRATION_KILLS:-10}" || status=1
    "$python" scripts/dependency-faults.py || status=1
    "$python" scripts/failover-test.py --failovers "${FAILOVERS:-2}" || status=1
    "$python" scripts/replica-reads-test.py --python "$python" || status=1
    "$python" scripts/pgbouncer-test.py || status=1
    "$python" scripts/rotator-targets.py || status=1
    "$python" scripts/import-vault.py || status=1
    "$python" scripts/console-browser.py || status=1
    "$python" scripts/production-targets.py || status=1
    exit $status' run-tests "$swift"
