#!/usr/bin/env python3
"""The operator make targets on a production host (issue 20, point 3), run by `make test`.

`make install` into a scratch PREFIX; the unit it writes passes `systemd-analyze verify`. Then the installed
coffer serves, and `make rotate`, `rotate-status` and `rotate-keys` run with PATH holding only that PREFIX's
bin: no swift, no psql or pg_ctl, no wrk, no Python, no coreutils; so they cannot build, cannot check test
packages, and use the installed binary. DRY_RUN=1 changes nothing, DRY_RUN=0 rotates, anything else is
refused; SECRET= with a quote and a space reaches the CLI as one argument; an unreachable COFFER_ADDR is one
error line, not a trap.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from live_service import Checks, Service  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAKE = shutil.which("make") or "/usr/bin/make"
check = Checks()


def make(prefix: str, target: str, *variables: str, address: str, token: str):
    """`make TARGET` in the checkout with PATH = PREFIX/bin alone and nothing else inherited."""
    environment = {"PATH": os.path.join(prefix, "bin"), "HOME": prefix, "COFFER_ADDR": address, "COFFER_TOKEN": token}
    result = subprocess.run(
        [MAKE, "--no-print-directory", "-C", ROOT, target, *variables], env=environment, capture_output=True, text=True,
        timeout=120)
    return result.returncode, result.stdout + result.stderr


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    scratch = tempfile.mkdtemp(prefix="coffer-production-")
    prefix = os.path.join(scratch, "prefix")
    service = None
    try:
        # make install: binary, policies, unit.
        result = subprocess.run([MAKE, "--no-print-directory", "-C", ROOT, "install", f"PREFIX={prefix}"], capture_output=True,
                                text=True)
        if result.returncode != 0:
            raise SystemExit("make install failed:\n" + result.stdout + result.stderr)
        binary = os.path.join(prefix, "bin", "coffer")
        check(os.access(binary, os.X_OK), "make install: bin/coffer is executable")
        shipped = sorted(f for f in os.listdir(os.path.join(ROOT, "Policies")) if f.endswith(".hcl"))
        installed = sorted(os.listdir(os.path.join(prefix, "share", "coffer", "policies")))
        check(installed == shipped, "make install: every shipped policy", f"{installed} != {shipped}")
        unit = os.path.join(prefix, "lib", "systemd", "system", "coffer.service")
        text = open(unit).read()
        check(f"ExecStart={binary} serve" in text and "@BINDIR@" not in text, "make install: the unit runs the installed binary")
        analyze = shutil.which("systemd-analyze")
        if analyze:
            result = subprocess.run([analyze, "verify", unit], capture_output=True, text=True)
            check(result.returncode == 0 and not result.stderr.strip(), "systemd-analyze verify: the unit is clean",
                  result.stdout + result.stderr)
        else:
            print("NOT RUN systemd-analyze verify: systemd-analyze is not installed")

        # The installed coffer serves (dev mode: SQLite, unsealed); a token with the shipped rotation-runner policy.
        folder = os.path.join(scratch, "data")
        os.makedirs(folder)
        service = Service(binary, "sqlite", folder, {"PATH": "/nonexistent", "COFFER_ROTATION_SCHEDULER": "false"})
        root = service.start()
        address = f"http://127.0.0.1:{service.port}"
        policy = open(os.path.join(prefix, "share", "coffer", "policies", "rotation-runner.hcl")).read()
        status, _ = root.call("PUT", "sys/policies/acl/rotation-runner", {"policy": policy})
        assert status in (200, 204), status
        status, created = root.call("POST", "auth/token/create", {"policies": ["rotation-runner"], "ttl": "1h"})
        assert status == 200, created
        runner = created["auth"]["client_token"]
        for path in ("app/api", "app/it's mine"):
            status, answer = root.call("POST", "secret/data/" + path.replace("'", "%27").replace(" ", "%20"),
                                       {"data": {"value": "initial"}})
            assert status == 200, answer
            status, answer = root.call("POST", "secret/metadata/" + path.replace("'", "%27").replace(" ", "%20"),
                                       {"rotation_kind": "random", "rotation_interval": "1s"})
            assert status in (200, 204), answer
        time.sleep(1.5)  # both are due now

        def version(path: str) -> int:
            status, answer = root.call("GET", "secret/data/" + path.replace("'", "%27").replace(" ", "%20"))
            assert status == 200, answer
            return answer["data"]["metadata"]["version"]

        code, output = make(prefix, "rotate", "DRY_RUN=1", address=address, token=runner)
        check(code == 0 and "secret/app/api" in output and version("app/api") == 1,
              "make rotate DRY_RUN=1: lists what is due, rotates nothing", output)
        code, output = make(prefix, "rotate", "DRY_RUN=maybe", address=address, token=runner)
        check(code != 0 and "DRY_RUN=maybe" in output and version("app/api") == 1,
              "make rotate DRY_RUN=maybe: refused, nothing rotated", output)
        code, output = make(prefix, "rotate", "DRY_RUN=0", address=address, token=runner)
        check(code == 0 and version("app/api") == 2 and version("app/it's mine") == 2,
              "make rotate DRY_RUN=0: rotates every due credential with the installed coffer", output)
        code, output = make(prefix, "rotate", "SECRET=secret/app/it's mine", address=address, token=runner)
        check(code == 0 and version("app/it's mine") == 3 and version("app/api") == 2,
              "make rotate SECRET=...: a quote and a space reach the CLI as one path", output)
        code, output = make(prefix, "rotate-status", address=address, token=runner)
        check(code == 0 and "secret/app/api" in output, "make rotate-status", output)
        status, before = root.call("GET", "sys/key-status")
        code, output = make(prefix, "rotate-keys", address=address, token=root.token)
        status, after = root.call("GET", "sys/key-status")
        check(code == 0 and after["data"]["term"] == before["data"]["term"] + 1, "make rotate-keys: a new term, records rewrapped",
              output)
        closed = f"http://127.0.0.1:{service.port}"
        service.stop()
        service = None
        code, output = make(prefix, "rotate", address=closed, token=runner)
        check(code != 0 and f"cannot reach Coffer at {closed}" in output and "Fatal error" not in output,
              "make rotate, service down: one error line naming the address and COFFER_ADDR", output)
        code, output = make(prefix, "rotate", "COFFER=/nonexistent/coffer", address=closed, token=runner)
        check(code != 0 and "set COFFER" in output, "make rotate COFFER=missing: says what to set", output)
        check(runner not in "".join(open(os.path.join(folder, "coffer.log")).readlines()), "the runner's token is not in the log")
    finally:
        if service:
            service.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    check.finish("production-targets", "every operator target works with only the installed coffer on PATH")


if __name__ == "__main__":
    main()
