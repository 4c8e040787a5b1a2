#!/usr/bin/env python3
"""Coffer behind PgBouncer in transaction mode (make test; Docs/SCALING.md, "Connection budget").

A private PostgreSQL (scripts/postgres-test-server.sh) and Debian's PgBouncer (1.18 on bookworm) in front of it,
pool_mode=transaction with default_pool_size=4. Checked:
- with prepared statements (Coffer's default) through transaction mode, Coffer fails: a named statement prepared on
  one server connection is missing on the next one PgBouncer picks (PgBouncer supports them only from 1.21) - the
  reason `database_prepared_statements=false` exists;
- with database_prepared_statements=false, two Coffer instances (8 pool connections each: 16 clients of PgBouncer)
  share at most 4 server connections under a load of check-and-set writes, fresh-key writes and reads: no 5xx,
  every acknowledged write read back, the audit chain verifies.
With --bench, wrk figures for the audited KV read and write direct and through PgBouncer.

    scripts/pgbouncer-test.py [--binary PATH] [--seconds S] [--bench]
"""

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

from fault_load import Load, require_acknowledged
from live_service import Checks, Service, free_port

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERVER_SCRIPT = os.path.join(ROOT, "scripts", "postgres-test-server.sh")
PGBOUNCER = os.environ.get("PGBOUNCER", "/usr/sbin/pgbouncer")
POOL_SIZE = 4


def as_owner(arguments: list, **options):
    prefix = ["runuser", "-u", "coffer-pg", "--"] if os.geteuid() == 0 else []
    return subprocess.Popen(prefix + arguments, **options)


def start_pgbouncer(folder: str, postgres_port: int) -> tuple:
    port = free_port()
    with open(os.path.join(folder, "users.txt"), "w") as file:
        file.write('"coffer" ""\n')
    with open(os.path.join(folder, "pgbouncer.ini"), "w") as file:
        file.write(f"""[databases]
coffer_test = host=127.0.0.1 port={postgres_port} dbname=coffer_test user=coffer

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {folder}/users.txt
admin_users = coffer
pool_mode = transaction
default_pool_size = {POOL_SIZE}
max_client_conn = 500
ignore_startup_parameters = extra_float_digits
logfile = {folder}/pgbouncer.log
""")
    if os.geteuid() == 0:
        shutil.chown(folder, "coffer-pg")
        for name in ("users.txt", "pgbouncer.ini"):
            shutil.chown(os.path.join(folder, name), "coffer-pg")
    process = as_owner([PGBOUNCER, os.path.join(folder, "pgbouncer.ini")], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 20
    while subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", str(port)]).returncode != 0:
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"pgbouncer did not start: {open(os.path.join(folder, 'pgbouncer.log')).read()[-2000:]}")
        time.sleep(0.1)
    return process, port


def server_connections(postgres_url: str) -> int:
    out = subprocess.run(["psql", postgres_url, "-Atqc",
                          "SELECT count(*) FROM pg_stat_activity WHERE datname = 'coffer_test' AND pid <> pg_backend_pid()"],
                         capture_output=True, text=True, check=True).stdout
    return int(out.strip())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=os.environ.get("COFFER_BIN", os.path.join(ROOT, ".build", "debug", "coffer")))
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--bench", action="store_true")
    args = parser.parse_args()
    binary = os.path.abspath(args.binary)
    if not os.path.exists(PGBOUNCER):
        print(f"pgbouncer-test: {PGBOUNCER} is missing: run 'make deps' (Debian's pgbouncer)")
        return 1
    environment = {k: v for k, v in os.environ.items() if not k.startswith("COFFER_")}
    scratch = tempfile.mkdtemp(prefix="coffer-pgbouncer-")
    os.chmod(scratch, 0o755)
    server_dir, bouncer_dir = os.path.join(scratch, "pg"), os.path.join(scratch, "bouncer")
    os.makedirs(bouncer_dir)
    direct = subprocess.run(["bash", SERVER_SCRIPT, "start", server_dir], check=True, capture_output=True, text=True).stdout.strip()
    postgres_port = int(open(os.path.join(server_dir, "port")).read())
    bouncer = None
    services = []
    check = Checks()
    try:
        bouncer, bouncer_port = start_pgbouncer(bouncer_dir, postgres_port)
        pooled = f"postgres://coffer@127.0.0.1:{bouncer_port}/coffer_test"
        print(f"== PgBouncer (transaction mode, {POOL_SIZE} server connections) in front of PostgreSQL", flush=True)

        # Prepared statements through transaction mode: a named statement is missing on the next server connection.
        folder = tempfile.mkdtemp(prefix="coffer-pgbouncer-prepared-")
        prepared = Service(binary, "postgres", folder, dict(environment, COFFER_DATABASE_URL=pooled))
        services.append(prepared)
        failed = None
        try:
            client = prepared.start()
            statuses = []
            lock = threading.Lock()

            def hammer():
                for n in range(40):
                    status, _ = client.call("POST", f"secret/data/prepared/{threading.get_ident()}-{n}", {"data": {"v": "x"}})
                    with lock:
                        statuses.append(status)
            threads = [threading.Thread(target=hammer) for _ in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            failed = sum(status >= 500 for status in statuses)
            detail = f"{failed} of {len(statuses)} writes failed"
        except (SystemExit, AssertionError, KeyError) as error:
            detail = f"coffer could not even start or initialise: {str(error)[:200]}"
            failed = -1
        log = open(prepared.log.name).read()
        named = [line for line in log.splitlines() if "prepared statement" in line and "does not exist" in line]
        if named:
            detail += f"; the log: {named[0].strip()[:160]}"
        check(failed != 0, f"with prepared statements, transaction mode fails as documented ({detail})")
        prepared.stop()
        services.remove(prepared)
        shutil.rmtree(folder, ignore_errors=True)
        subprocess.run(["psql", direct, "-q", "-c", "DROP SCHEMA public CASCADE; CREATE SCHEMA public"], check=True,
                       capture_output=True)

        # Unprepared: two instances, 16 client connections, at most 4 server connections.
        unprepared = dict(environment, COFFER_DATABASE_URL=pooled, COFFER_DATABASE_PREPARED_STATEMENTS="false")
        first = Service(binary, "postgres", tempfile.mkdtemp(prefix="coffer-pgbouncer-a-"), unprepared)
        services.append(first)
        on_first = first.start()
        second = Service(binary, "postgres", tempfile.mkdtemp(prefix="coffer-pgbouncer-b-"), unprepared)
        second.unseal_key, second.root = first.unseal_key, first.root
        services.append(second)
        on_second = second.start()
        peak = 0
        with Load(on_first, writers=2, fresh_writers=2, name="a") as load_first, \
                Load(on_second, writers=2, fresh_writers=2, name="b") as load_second:
            deadline = time.monotonic() + args.seconds
            while time.monotonic() < deadline:
                peak = max(peak, server_connections(direct))
                time.sleep(0.2)
        for name, load in (("A", load_first), ("B", load_second)):
            statuses, _ = load.take()
            check(not load.failures and set(statuses) <= {200, 404}, f"instance {name}: answers {statuses}", "; ".join(load.failures[:3]))
            try:
                require_acknowledged(on_first, load, f"instance {name}'s writes")
                check(True, f"instance {name}: all {sum(len(v) for v in load.acknowledged.values()) + len(load.fresh)} "
                      "acknowledged writes read back; the audit chain verifies")
            except AssertionError as error:
                check(False, f"instance {name}: every acknowledged write is there", error)
        check(0 < peak <= POOL_SIZE, f"16 pool connections shared {peak} server connections (at most {POOL_SIZE})")

        if args.bench:
            bench(args, direct, pooled, first, on_first, environment)
        check.finish("pgbouncer-test", "transaction mode works with database_prepared_statements=false, and only so")
        return 0
    finally:
        for service in services:
            service.stop()
        if bouncer:
            bouncer.terminate()
            bouncer.wait(timeout=10)
        subprocess.run(["bash", SERVER_SCRIPT, "stop", server_dir], check=False)
        if check.failures:
            print(f"   logs: {[s.log.name for s in services]}, {bouncer_dir}/pgbouncer.log", flush=True)
        shutil.rmtree(scratch, ignore_errors=True)


def bench(args, direct: str, pooled: str, first: Service, client, environment: dict):
    spec = importlib.util.spec_from_file_location("bench_peers", os.path.join(ROOT, "scripts", "bench-peers.py"))
    peers = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(peers)
    setup = peers.prepare(client)
    rows = []
    for label, url, extra in (("direct, prepared", direct + "", {}),
                              ("PgBouncer, unprepared", pooled, {"COFFER_DATABASE_PREPARED_STATEMENTS": "false"}),
                              ("direct, unprepared", direct, {"COFFER_DATABASE_PREPARED_STATEMENTS": "false"})):
        folder = tempfile.mkdtemp(prefix="coffer-pgbouncer-bench-")
        service = Service(os.path.abspath(args.binary), "postgres", folder, dict(environment, COFFER_DATABASE_URL=url, **extra))
        service.unseal_key, service.root = first.unseal_key, first.root
        service.start()
        for work in ("kv read", "kv write"):
            target, method, body, token = peers.work(work, service.port, setup, folder)
            best = max((peers.wrk(target, method, body, token, 32, 5, folder) for _ in range(3)), key=lambda r: r[0])
            rows.append((work, label, best))
        service.stop()
        shutil.rmtree(folder, ignore_errors=True)
    print("| work | path | req/s | p99 ms |\n|---|---|---|---|")
    for work, label, (rate, p99) in sorted(rows):
        print(f"| {work} | {label} | {rate:,.0f} | {p99:.1f} |")


if __name__ == "__main__":
    sys.exit(main())
