#!/usr/bin/env python3
"""The webhook and command rotators against real targets started here (issue 20, point 6); run by `make test`.

An HTTPS key service (a test CA, a certificate for 127.0.0.1) that, like an exchange's API, takes a new key on a
signed POST and answers a call made with a key: 200 for the active key, 401 otherwise. And a rotation program in
a folder the operator allows. Against each, with the real `coffer` binary (SQLite, scheduler off):
- the settings are refused unless the operator allows the host or program (and for anything malformed);
- a rotation moves the target and the store to one new value; the webhook's signature, timestamp and
  idempotency key check out, and the current value is never sent (only its fingerprint);
- a target whose new key does not work (the test request fails) is rolled back: the target is given the
  current value again and the store's current version is unchanged;
- the service killed with SIGKILL right after the set step (COFFER_FAILPOINTS) is resumed by the next run,
  which repeats set with the same value and idempotency key, and the two sides agree afterwards;
- the program gets its values on standard input only: its arguments and environment hold none; a program that
  hangs is stopped after the timeout.
"""

import hashlib
import hmac
import http.server
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from live_service import Checks, Service, free_port  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIGNING_KEY = "signing-key-for-the-test-" + os.urandom(8).hex()
check = Checks()


def make_certificates(folder: str):
    def openssl(*arguments):
        subprocess.run(["openssl", *arguments], cwd=folder, check=True, capture_output=True)
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
            "-days", "2", "-subj", "/CN=Rotator Test CA", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    with open(os.path.join(folder, "server.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "server.key", "-out", "server.csr",
            "-subj", "/CN=key-service")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem",
            "-days", "2", "-extfile", "server.ext")


class KeyService:
    """The target: one active key; POST /keys/rotate (signed) sets it, GET /keys/check with it answers 200."""

    def __init__(self, folder: str, initial: str):
        self.active = initial
        self.broken = False  # when set, a new key is accepted but does not work (the test request fails)
        self.calls = []      # (idempotency key, pending, body) of each accepted set
        self.rejected = []   # why a set was refused
        service = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                timestamp = self.headers.get("X-Coffer-Timestamp", "")
                expected = "v1=" + hmac.new(SIGNING_KEY.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
                if not hmac.compare_digest(expected, self.headers.get("X-Coffer-Signature", "")):
                    service.rejected.append("bad signature")
                    return self.answer(401)
                if abs(time.time() - int(timestamp or 0)) > 300:
                    service.rejected.append("stale timestamp")
                    return self.answer(401)
                request = json.loads(body)
                service.calls.append((self.headers.get("Idempotency-Key"), request["pending"], request))
                service.previous, service.active = service.active, request["pending"]
                self.answer(200)

            def do_GET(self):
                key = self.headers.get("Authorization", "")
                works = key == "Bearer " + service.active and not (service.broken and service.active != service.previous)
                self.answer(200 if works else 401)

            def answer(self, status):
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.port = free_port()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(os.path.join(folder, "server.pem"), os.path.join(folder, "server.key"))
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.previous = initial
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


PROGRAM = r'''#!/usr/bin/env python3
# A rotation program: `set` makes the pending value the active one (idempotent), `test` checks it is.
import json, os, sys, time
here = os.path.dirname(os.path.abspath(__file__))
request = json.load(sys.stdin)
with open(os.path.join(here, "calls.jsonl"), "a") as log:
    log.write(json.dumps({"argv": sys.argv, "environ": dict(os.environ)}) + "\n")
if os.path.exists(os.path.join(here, "hang")):
    time.sleep(120)
state = os.path.join(here, "active-key")
if sys.argv[1] == "set":
    open(state, "w").write(request["pending"])
    sys.exit(0)
if os.path.exists(os.path.join(here, "broken")):
    sys.exit(3)
sys.exit(0 if open(state).read() == request["pending"] else 1)
'''


def main():
    binary = os.environ.get("COFFER_BIN") or os.path.join(ROOT, ".build", "debug", "coffer")
    scratch = tempfile.mkdtemp(prefix="coffer-rotators-")
    try:
        certificates = os.path.join(scratch, "tls")
        os.makedirs(certificates)
        make_certificates(certificates)
        initial = "initial-exchange-key"
        target = KeyService(certificates, initial)
        programs = os.path.join(scratch, "programs")
        os.makedirs(programs)
        with open(os.path.join(programs, "rotate-key"), "w") as f:
            f.write(PROGRAM)
        os.chmod(os.path.join(programs, "rotate-key"), 0o755)
        with open(os.path.join(programs, "active-key"), "w") as f:
            f.write("initial-program-key")

        folder = os.path.join(scratch, "data")
        os.makedirs(folder)
        environment = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "COFFER_ROTATION_SCHEDULER": "false", "COFFER_ROTATION_LOCK_TTL": "2",
            "COFFER_ROTATION_WEBHOOK_HOSTS": f"127.0.0.1:{target.port}",
            "COFFER_ROTATION_WEBHOOK_CA_FILE": os.path.join(certificates, "ca.pem"), "COFFER_ROTATION_COMMAND_DIR": programs,
        }
        service = Service(binary, "sqlite", folder, environment)
        client = service.start()

        def call(method, path, body=None):
            return client.call(method, path, body)

        def current(path):
            status, answer = call("GET", "secret/data/" + path)
            assert status == 200, answer
            return answer["data"]["metadata"]["version"], answer["data"]["data"]["value"]

        def rotate(path):
            status, answer = call("POST", "coffer/rotation/rotate/secret/" + path)
            assert status == 200, answer
            return answer["data"]["results"][0]

        base = f"https://127.0.0.1:{target.port}"
        webhook = {"url": base + "/keys/rotate", "test_url": base + "/keys/check", "signing_secret": "secret/exchange/signing"}
        assert call("POST", "secret/data/exchange/signing", {"data": {"hmac_key": SIGNING_KEY}})[0] == 200
        assert call("POST", "secret/data/exchange/api", {"data": {"value": initial, "account": "acct-1"}})[0] == 200
        assert call("POST", "secret/data/vendor/api", {"data": {"value": "initial-program-key"}})[0] == 200

        # Settings the operator did not allow, or that are malformed: 400, nothing stored.
        refused = {
            "a host not in rotation_webhook_hosts": ("webhook", dict(webhook, url="https://127.0.0.1:1/keys/rotate")),
            "plain http": ("webhook", dict(webhook, url=f"http://127.0.0.1:{target.port}/keys/rotate")),
            "credentials in the URL": ("webhook", dict(webhook, test_url=f"https://u:p@127.0.0.1:{target.port}/keys/check")),
            "a header with CRLF": ("webhook", dict(webhook, test_prefix="Bearer \r\nX-Evil: 1 ")),
            "a header with a bare LF": ("webhook", dict(webhook, test_prefix="Bearer \nX-Evil: 1 ")),
            "a header name with a colon": ("webhook", dict(webhook, test_header="X-Key: evil")),
            "no signing secret": ("webhook", {k: v for k, v in webhook.items() if k != "signing_secret"}),
            "a program outside the folder": ("command", {"command": "../../bin/sh"}),
            "a program that is not there": ("command", {"command": "no-such-program"}),
        }
        for what, (kind, settings) in refused.items():
            status, answer = call("POST", "secret/metadata/exchange/api", {"rotation_kind": kind, "rotation_settings": settings})
            check(status == 400, f"refused: {what}", f"{status} {answer}")
        status, metadata = call("GET", "secret/metadata/exchange/api")
        check(metadata["data"].get("rotation_kind", "") == "", "a refused setting stored nothing", metadata)

        # Webhook: rotated, signed, the current value never sent.
        status, answer = call("POST", "secret/metadata/exchange/api", {"rotation_kind": "webhook", "rotation_settings": webhook})
        check(status == 204, "webhook settings accepted", answer)
        outcome = rotate("exchange/api")
        version, value = current("exchange/api")
        check(outcome["result"] == "rotated" and version == 2 and value == target.active and value != initial,
              "webhook: the store's current value is the key the target now takes", outcome)
        check(not target.rejected and len(target.calls) == 1, "webhook: signature and timestamp verified", target.rejected)
        request = target.calls[0][2]
        expected_fingerprint = hmac.new(SIGNING_KEY.encode(), ("fingerprint:" + initial).encode(), hashlib.sha256).hexdigest()
        check(initial not in json.dumps(request) and request["current_fingerprint"] == expected_fingerprint,
              "webhook: the current value is sent only as its fingerprint", request)
        check(len(target.calls[0][0] or "") == 32, "webhook: an idempotency key", target.calls[0][0])

        # A new key that does not work: the test request fails, the target is given the current key back.
        target.broken = True
        outcome = rotate("exchange/api")
        target.broken = False
        version_after, value_after = current("exchange/api")
        check(outcome["result"] == "failed" and outcome["step"] in ("test", "set") and "HTTP 401" in (outcome.get("error") or ""),
              "webhook: a failing test request fails the run", outcome)
        check(version_after == 2 and value_after == value and target.active == value,
              "webhook: rolled back; the target takes the current key again", (version_after, target.active == value))
        check(value not in (outcome.get("error") or "") and SIGNING_KEY not in json.dumps(outcome), "webhook: no value in the error")
        call("POST", "secret/metadata/exchange/api", {"rotation_kind": "webhook", "rotation_settings": webhook})  # clear the backoff's hold

        # Killed right after set acted: the target holds the pending key, the store does not; the next run resumes.
        service.stop(close_log=False)
        service.environment = dict(environment, COFFER_FAILPOINTS="rotation.set.after=crash")
        client = service.start()
        calls_before = len(target.calls)
        try:
            client.call("POST", "coffer/rotation/rotate/secret/exchange/api", timeout=30)
        except Exception:
            pass
        check(service.died_by_sigkill(), "webhook: the service died by SIGKILL after set")
        pending_on_target = target.active
        service.environment = environment
        client = service.start()
        time.sleep(2.5)  # the dead run's lock (rotation_lock_ttl, 2 s here) expires; then it is taken over
        version_mid, value_mid = current("exchange/api")
        check(version_mid == 2 and pending_on_target != value_mid, "webhook: after the kill the target is ahead of the store")
        outcome = rotate("exchange/api")
        version_end, value_end = current("exchange/api")
        check(outcome["result"] == "rotated" and version_end == outcome["new_version"] > version_mid
              and value_end == pending_on_target == target.active,
              "webhook: resumed; the store's current value is the key the target took before the kill", outcome)
        keys = [call_[0] for call_ in target.calls[calls_before:]]
        check(len(keys) >= 2 and keys[0] == keys[-1], "webhook: the resumed set repeated the same idempotency key", keys)

        # Command: values on standard input only; rotated; rolled back; a hanging program stopped.
        status, answer = call("POST", "secret/metadata/vendor/api",
                              {"rotation_kind": "command", "rotation_settings": {"command": "rotate-key", "timeout": 2}})
        check(status == 204, "command settings accepted", answer)
        outcome = rotate("vendor/api")
        version, value = current("vendor/api")
        active = open(os.path.join(programs, "active-key")).read()
        check(outcome["result"] == "rotated" and version == 2 and value == active != "initial-program-key",
              "command: the store's current value is the program's active key", outcome)
        seen = open(os.path.join(programs, "calls.jsonl")).read()
        check(value not in seen and "initial-program-key" not in seen, "command: no value in the program's arguments or environment")
        logged = [json.loads(line) for line in seen.splitlines()]
        check(all(set(entry["environ"]) <= {"PATH", "PWD", "LC_CTYPE"} for entry in logged),
              "command: the program's environment is PATH alone", logged[0]["environ"])
        open(os.path.join(programs, "broken"), "w").close()
        outcome = rotate("vendor/api")
        os.remove(os.path.join(programs, "broken"))
        check(outcome["result"] == "failed" and "exited with status 3" in (outcome.get("error") or ""), "command: a failing test fails the run",
              outcome)
        check(current("vendor/api") == (2, value) and open(os.path.join(programs, "active-key")).read() == value,
              "command: rolled back; the program was given the current value again")
        call("POST", "secret/metadata/vendor/api", {"rotation_kind": "command", "rotation_settings": {"command": "rotate-key", "timeout": 2}})
        open(os.path.join(programs, "hang"), "w").close()
        started = time.monotonic()
        outcome = rotate("vendor/api")
        os.remove(os.path.join(programs, "hang"))
        check(outcome["result"] == "failed" and "did not exit within" in (outcome.get("error") or "") and time.monotonic() - started < 15,
              "command: a hanging program is stopped after its timeout", outcome)
        log = open(os.path.join(folder, "coffer.log")).read()
        check(SIGNING_KEY not in log and value not in log and value_end not in log, "no value or signing key in the service log")
        service.stop()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    check.finish("rotator-targets", "webhook and command rotators rotate, roll back and resume against real targets")


if __name__ == "__main__":
    main()
