#!/usr/bin/env python3
"""N Coffer instances on one PostgreSQL (`make bench-scale`): 1, 2 and 3 `coffer serve` processes on loopback
share one database; wrk drives the audited KV v2 read (then the write) against every instance at once, and the
total is compared with one instance's.

Per phase it prints: requests/s in total and per instance, the total against one instance, the audit entries
per group commit (entries appended / checkpoints written: a checkpoint is signed at every commit), and CPU time
per request on the instances and on PostgreSQL (from /proc, every postgres and coffer process), with
PostgreSQL's share of the machine's CPU; after each N it verifies the audit trail (`sys/audit-trail/verify`: one
chain without a gap across the instances' commits); and the WAL and audit_log bytes (table and indexes) each
request adds, for the capacity model. On a 2-core machine the instances and PostgreSQL share the
cores, so the per-request CPU is the figure that transfers to larger machines (Docs/SCALING.md).

Same token shape, policy and secret as bench-peers (a non-root token whose policy allows the path, a 256-byte
secret; each instance writes its own secret); wrk -t1 with --connections per instance for --seconds, best of
--rounds per N.
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from live_service import Service, postgres_database, drop_postgres_database  # noqa: E402

_spec = importlib.util.spec_from_file_location("bench_peers", os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench-peers.py"))
peers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(peers)

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(command_prefix: str) -> float:
    """User + system CPU seconds of every process whose command name starts with `command_prefix`."""
    total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as file:
                stat = file.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        if name.startswith(command_prefix):
            fields = stat[stat.rindex(")") + 2:].split()
            total += int(fields[11]) + int(fields[12])
    return total / TICKS


def audit_counts(url: str) -> tuple:
    """(entries, checkpoints, audit_log bytes with its indexes, WAL position in bytes) so far."""
    out = subprocess.run(["psql", url, "-Atqc", "SELECT (SELECT count(*) FROM audit_log), (SELECT count(*) FROM audit_checkpoints), "
                          "pg_total_relation_size('audit_log'), pg_current_wal_lsn() - '0/0'::pg_lsn"],
                         check=True, capture_output=True, text=True).stdout.strip()
    entries, checkpoints, audit_bytes, wal = out.split("|")
    return int(entries), int(checkpoints), int(audit_bytes), int(float(wal))


def phase(work: str, instances: list, setup: dict, folders: list, connections: int, seconds: int, url: str) -> dict:
    """wrk against every instance at once; totals, audit entries per commit and CPU per request."""
    results = [None] * len(instances)
    errors = []

    def drive(index):
        try:
            target, method, body, token = peers.work(work, instances[index].port, setup, folders[index])
            # Each instance writes its own secret: the scale of writes, not one row's lock, is measured.
            target = target.replace("bench/written", f"bench/written-{index + 1}")
            results[index] = peers.wrk(target, method, body, token, connections, seconds, folders[index])
        except BaseException as error:  # noqa: B036 - SystemExit from wrk is the failure to report
            errors.append(f"instance {index + 1}: {error}")

    entries_before, checkpoints_before, audit_before, wal_before = audit_counts(url)
    pg_before, coffer_before, started = cpu_seconds("postgres"), cpu_seconds("coffer"), time.monotonic()
    threads = [threading.Thread(target=drive, args=(index,)) for index in range(len(instances))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.monotonic() - started
    pg_cpu, coffer_cpu = cpu_seconds("postgres") - pg_before, cpu_seconds("coffer") - coffer_before
    entries_after, checkpoints_after, audit_after, wal_after = audit_counts(url)
    if errors:
        raise SystemExit("; ".join(errors))
    total = sum(rate for rate, _ in results)
    requests = total * seconds
    return {
        "total": total, "each": [rate for rate, _ in results], "p99": max(p99 for _, p99 in results),
        "per_commit": (entries_after - entries_before) / max(1, checkpoints_after - checkpoints_before),
        "coffer_us": coffer_cpu / requests * 1e6, "pg_us": pg_cpu / requests * 1e6,
        "pg_share": pg_cpu / (wall * os.cpu_count()),
        "wal_bytes": (wal_after - wal_before) / requests, "audit_bytes": (audit_after - audit_before) / requests,
        "entry_bytes": (audit_after - audit_before) / max(1, entries_after - entries_before),
    }


def run(count: int, binary: str, server_url: str, arguments, works: list, pool: int = None) -> dict:
    name = f"coffer_bench_scale_{count}"
    url = postgres_database(server_url, name)
    root_folder = tempfile.mkdtemp(prefix=f"bench-scale-{count}-")
    services, instances, folders = [], [], []
    try:
        environment = {"PATH": os.environ["PATH"], "COFFER_DATABASE_URL": url, "COFFER_ROTATION_SCHEDULER": "false"}
        if pool:
            environment["COFFER_DATABASE_CONNECTIONS"] = str(pool)
        for index in range(count):
            folder = os.path.join(root_folder, f"instance-{index + 1}")
            os.makedirs(os.path.join(folder, "coffer"))
            service = Service(binary, "postgres", os.path.join(folder, "coffer"), environment)
            if services:  # the first instance initialised the database; the others unseal with its key
                service.unseal_key, service.root = services[0].unseal_key, services[0].root
            instances.append(service.start())
            services.append(service)
            folders.append(folder)
        setup = peers.prepare(instances[0])
        best = {}
        for _ in range(arguments.rounds):
            for work in works:
                figures = phase(work, instances, setup, folders, arguments.connections, arguments.seconds, url)
                if figures["total"] > best.get(work, {"total": 0})["total"]:
                    best[work] = figures
        # One chain after the load on every instance: numbering without gaps, hashes, tags, checkpoints.
        status, answer = instances[0].call("GET", "sys/audit-trail/verify", timeout=300)
        data = answer.get("data", {}) if isinstance(answer, dict) else {}
        if status != 200 or "first_bad_sequence" in data:
            raise SystemExit(f"{count} instance(s): the audit chain does not verify after the load: {status} {answer}")
        print(f"  {count} instance(s): audit chain after the load: {data.get('finding')} ({data.get('entries')} entries, "
              f"{data.get('checkpoints')} checkpoints)", flush=True)
        return best
    finally:
        for service in services:
            service.stop()
        shutil.rmtree(root_folder, ignore_errors=True)
        drop_postgres_database(server_url, name)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", default="1,2,3")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections per instance")
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--binary", default=os.path.join(peers.ROOT, ".build", "release", "coffer"))
    parser.add_argument("--pool-sizes", default="", help="instead: one instance at each database_connections, e.g. 2,4,8,16")
    arguments = parser.parse_args()
    server_url = os.environ.get("COFFER_TEST_POSTGRES_URL")
    if not server_url:
        raise SystemExit("set COFFER_TEST_POSTGRES_URL (make bench-scale starts a throwaway server)")
    works = ["kv read", "kv write"]
    print(peers.machine())
    print(f"wrk -t1 -c{arguments.connections} per instance, {arguments.seconds} s, best of {arguments.rounds}; "
          f"instances and PostgreSQL on this machine")
    if arguments.pool_sizes:
        pools(arguments, server_url, works)
        return
    figures = {}
    for count in [int(n) for n in arguments.instances.split(",")]:
        figures[count] = run(count, arguments.binary, server_url, arguments, works)
        print(f"  {count} instance(s) done", flush=True)
    print()
    print("| work | instances | req/s total | per instance | vs 1 instance | p99 ms (worst) | audit entries per commit "
          "| CPU µs per request, instances | CPU µs per request, PostgreSQL | PostgreSQL's share of the machine "
          "| WAL bytes per request | audit_log bytes per request (per entry) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for work in works:
        base = figures[min(figures)][work]["total"]
        for count, best in figures.items():
            row = best[work]
            each = " / ".join(f"{rate:,.0f}" for rate in row["each"])
            print(f"| {work} | {count} | {row['total']:,.0f} | {each} | {row['total'] / base:.2f}× | {row['p99']:.1f} "
                  f"| {row['per_commit']:.1f} | {row['coffer_us']:.0f} | {row['pg_us']:.0f} | {row['pg_share']:.0%} "
                  f"| {row['wal_bytes']:,.0f} | {row['audit_bytes']:,.0f} ({row['entry_bytes']:,.0f}) |")


def pools(arguments, server_url: str, works: list):
    """One instance at each pool size: what the pool's connections buy (the connection budget, Docs/SCALING.md)."""
    rows = []
    for pool in [int(n) for n in arguments.pool_sizes.split(",")]:
        best = run(1, arguments.binary, server_url, arguments, works, pool=pool)
        rows += [(work, pool, best[work]) for work in works]
    print()
    print("| work | database_connections | req/s | p99 ms | CPU µs per request, instance | PostgreSQL |")
    print("|---|---|---|---|---|---|")
    for work, pool, row in rows:
        print(f"| {work} | {pool} | {row['total']:,.0f} | {row['p99']:.1f} | {row['coffer_us']:.0f} | {row['pg_us']:.0f} |")


if __name__ == "__main__":
    main()
