#!/usr/bin/env python3
"""Reads from a PostgreSQL standby, with read-your-writes (make test; Docs/SCALING.md).

A primary and a synchronous hot standby (scripts/postgres_pair.py) whose replay is held back by
recovery_min_apply_delay (--apply-delay-ms), so a read the standby serves too early is visibly stale. Coffer A
uses the primary only; coffer B the same primary and, as its read_replica, the standby. Checked:
- B serves reads from the standby: right after a write on A, a read on B without an index is stale at least once;
- a write's answer carries X-Vault-Index; a read on B presenting it sees the write, every time;
- a client on B reads its own writes on B without presenting anything;
- a revocation on A holds on B at once (the Gate decides identities on the primary) and a token's use count
  holds across A and B (uses are spent on the primary);
- a standby that stops replaying delays a read presenting a newer index by the wait bound, then the primary
  answers it (no stale answer, no hang); a standby that is down is skipped;
- a malformed X-Vault-Index is a 400 that says what to send; a database URL that reaches the standby is refused
  at start (pg_is_in_recovery), naming read_replica;
- hvac's KV, Gate and database-engine (leases) scripts pass against B (first, on the empty mount they expect); the audit chain
  verifies at the end.

    scripts/replica-reads-test.py [--binary PATH] [--python PATH] [--trials N]
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

from live_service import Checks, Client, Service
from postgres_pair import ReplicaPair

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HVAC = os.path.join(ROOT, "Tests", "CofferServerTests", "Hvac")


def write(client: Client, path: str, value: str, index: str = None):
    status, answer, headers = client.call_with_headers("POST", f"secret/data/{path}", {"data": {"v": value}})
    assert status == 200, f"write {path}: {status} {answer}"
    return headers.get("x-vault-index")


def read(client: Client, path: str, index: str = None, token: str = None):
    headers = {"X-Vault-Index": index} if index else {}
    started = time.monotonic()
    status, answer = client.call("GET", f"secret/data/{path}", headers=headers, token=token)
    value = answer.get("data", {}).get("data", {}).get("v") if status == 200 else None
    return status, value, time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=os.environ.get("COFFER_BIN", os.path.join(ROOT, ".build", "debug", "coffer")))
    parser.add_argument("--python", default=os.environ.get("COFFER_TEST_PYTHON", sys.executable))
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--apply-delay-ms", type=int, default=300)
    args = parser.parse_args()
    binary = os.path.abspath(args.binary)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("COFFER_")}
    scratch = tempfile.mkdtemp(prefix="coffer-replica-")
    os.chmod(scratch, 0o755)
    pair = ReplicaPair(os.path.join(scratch, "pg"), apply_delay_ms=args.apply_delay_ms)
    folders = [tempfile.mkdtemp(prefix=f"coffer-replica-{name}-") for name in "ab"]
    check = Checks()
    services = []
    try:
        pair.start()
        primary, standby = pair.node_url(pair.primary), pair.node_url(pair.standby)
        print(f"== coffer A on the primary; coffer B on the primary with the standby (replay delayed "
              f"{args.apply_delay_ms} ms) as its read replica", flush=True)
        a = Service(binary, "postgres", folders[0], dict(environment, COFFER_DATABASE_URL=primary))
        services.append(a)
        on_a = a.start()
        b = Service(binary, "postgres", folders[1], dict(environment, COFFER_DATABASE_URL=primary, COFFER_READ_REPLICA_URL=standby))
        b.unseal_key, b.root = a.unseal_key, a.root
        services.append(b)
        on_b = b.start()

        # A database URL that reaches the standby is refused at start, saying what to do instead.
        folder = tempfile.mkdtemp(prefix="coffer-replica-c-")
        refused = Service(binary, "postgres", folder, dict(environment, COFFER_DATABASE_URL=standby))
        try:
            refused.start()
            check(False, "coffer on a standby's URL is refused at start", "it started")
        except SystemExit:
            log = open(refused.log.name).read()
            check("standby" in log and "read_replica" in log, "coffer on a standby's URL is refused at start, naming read_replica",
                  log[-600:])
        refused.stop()
        shutil.rmtree(folder, ignore_errors=True)

        # hvac's own usage against B.
        # The database engine's leases are issued and revoked on the primary; its target here is the primary too.
        for script, success in (("hvac_kv.py", "kv v2 and wrapping work unchanged"), ("hvac_gate.py", "work unchanged"),
                                ("hvac_database.py", "database engine and leases work unchanged")):
            result = subprocess.run([args.python, os.path.join(HVAC, script)], capture_output=True, text=True, timeout=300,
                                    env={"COFFER_ADDR": f"http://127.0.0.1:{b.port}", "COFFER_ROOT_TOKEN": b.root,
                                         "PATH": "/usr/bin:/bin", "COFFER_BIN": binary, "COFFER_TEST_POSTGRES_URL": primary})
            check(result.returncode == 0 and success in result.stdout, f"hvac: {script} against B",
                  (result.stdout + result.stderr)[-1500:])

        stale, fresh_with_index, own, waits = 0, 0, 0, []
        for trial in range(args.trials):
            write(on_a, f"replica/plain/{trial}", f"v{trial}")
            status, _, _ = read(on_b, f"replica/plain/{trial}")
            stale += status == 404
            index = write(on_a, f"replica/indexed/{trial}", f"v{trial}")
            status, value, took = read(on_b, f"replica/indexed/{trial}", index)
            fresh_with_index += status == 200 and value == f"v{trial}"
            waits.append(took)
            write(on_b, f"replica/own/{trial}", f"v{trial}")
            status, value, _ = read(on_b, f"replica/own/{trial}")
            own += status == 200 and value == f"v{trial}"
        check(stale > 0, f"B reads the standby: {stale} of {args.trials} reads right after a write on A were stale")
        check(fresh_with_index == args.trials, f"with X-Vault-Index, {fresh_with_index} of {args.trials} reads on B saw the write "
              f"(waited {min(waits) * 1000:.0f}–{max(waits) * 1000:.0f} ms)")
        check(own == args.trials, f"B's own writes: {own} of {args.trials} read back on B without an index")

        status, answer, headers = on_a.call_with_headers("GET", "secret/data/replica/plain/0")
        check("x-vault-index" not in headers, "a read's answer carries no index", headers)
        status, answer = on_b.call("GET", "secret/data/replica/plain/0", headers={"X-Vault-Index": "16/B374D848; DROP"})
        check(status == 400 and "X-Vault-Index" in " ".join(answer.get("errors", [])), "a malformed X-Vault-Index is a 400",
              f"{status} {answer}")
        status, answer = on_b.call("GET", "secret/data/replica/plain/0", headers={"X-Vault-Index": "１/2".encode()})
        check(status == 400, "a fullwidth-digit X-Vault-Index is a 400", f"{status} {answer}")

        # Revocation and use counts hold across the instances at once.
        status, created = on_a.call("POST", "auth/token/create", {"policies": ["default"], "num_uses": 3,
                                                                    "no_default_policy": False})
        assert status == 200, created
        limited = created["auth"]["client_token"]
        status, _ = on_a.call("POST", "sys/policies/acl/replica-reader",
                              {"policy": 'path "secret/data/replica/*" { capabilities = ["read"] }'})
        assert status in (200, 204), status
        status, created = on_a.call("POST", "auth/token/create", {"policies": ["replica-reader"], "num_uses": 3})
        limited = created["auth"]["client_token"]
        uses = [read(client, "replica/plain/0", token=limited)[0] for client in (on_a, on_b, on_b, on_a)]
        check(uses == [200, 200, 200, 403], f"a 3-use token used on A, B, B, A: {uses}")
        status, created = on_a.call("POST", "auth/token/create", {"policies": ["replica-reader"]})
        revoked = created["auth"]["client_token"]
        before = read(on_b, "replica/plain/0", token=revoked)[0]
        status, _ = on_a.call("POST", "auth/token/revoke", {"token": revoked})
        after = read(on_b, "replica/plain/0", token=revoked)[0]
        check(before == 200 and after == 403, f"a token revoked on A is refused on B at once: {before} then {after}")

        # A standby that stops replaying: the read waits its bound, then the primary answers.
        pair.standby.sql("SELECT pg_wal_replay_pause()")
        index = write(on_a, "replica/paused", "after-pause")
        status, value, took = read(on_b, "replica/paused", index)
        check(status == 200 and value == "after-pause" and 1.5 < took < 6,
              f"replay paused: the read presenting a newer index answered {status} in {took:.2f} s, from the primary", value)
        pair.standby.sql("SELECT pg_wal_replay_resume()")

        # The standby down: B serves from the primary. (Its synchronous role is handed back first, as a failover
        # manager would: with no synchronous standby left, PostgreSQL holds every commit, audit entries included.)
        pair.primary.sql("ALTER SYSTEM RESET synchronous_standby_names")
        pair.primary.sql("SELECT pg_reload_conf()")
        pair.standby.kill()
        status, value, took = read(on_b, "replica/indexed/0")
        check(status == 200 and value == "v0", f"the standby down: B answered {status} in {took:.2f} s from the primary")

        status, verify = on_a.call("GET", "sys/audit-trail/verify", timeout=60)
        check(status == 200 and verify["data"]["intact"], "the audit chain verifies", verify)
        status, entries = on_a.call("GET", "sys/audit-trail/entries?path=secret/data/replica/own/*&operation=read")
        reads_audited = len([e for e in entries.get("data", {}).get("entries", []) if e.get("kind", "response") == "response"])
        check(status == 200 and reads_audited >= args.trials, f"B's reads are in the audit trail on the primary ({reads_audited})",
              f"{status} {str(entries)[:300]}")
        check.finish("replica-reads-test", f"{args.trials} trials; stale without an index {stale}, with it 0; index wait "
                     f"{min(waits) * 1000:.0f}–{max(waits) * 1000:.0f} ms with a {args.apply_delay_ms} ms replay delay")
        return 0
    finally:
        for service in services:
            service.stop()
        pair.stop()
        shutil.rmtree(scratch, ignore_errors=True)
        for folder, service in zip(folders, services):
            if check.failures:
                print(f"   coffer's log: {service.log.name}", flush=True)
            else:
                shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
