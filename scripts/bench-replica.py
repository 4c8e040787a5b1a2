#!/usr/bin/env python3
"""make bench-replica: what a read replica takes off the primary, and what the consistency index costs a write.

A PostgreSQL primary and a synchronous hot standby on loopback (scripts/postgres_pair.py). Two coffer processes on
the one database: P reads the primary only; R has the standby as its read_replica. wrk drives the audited KV v2
read on P, then on R, then the KV write on P with the consistency index on, then off (a third instance started
with consistency_index=false). Per phase: requests/s, p99, and CPU µs per request on the instance, on the primary
cluster and on the standby cluster (every process of each postmaster, from /proc).

Same token, policy and 256-byte secret as bench-peers; wrk -t1 -c--connections for --seconds, best of --rounds,
the order of each pair alternating between rounds.
"""

import argparse
import importlib.util
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from live_service import Service  # noqa: E402
from postgres_pair import ReplicaPair, _children  # noqa: E402

_spec = importlib.util.spec_from_file_location("bench_peers", os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench-peers.py"))
peers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(peers)

TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu(pids) -> float:
    total = 0
    for pid in pids:
        try:
            stat = open(f"/proc/{pid}/stat").read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        total += int(fields[11]) + int(fields[12])
    return total / TICKS


def cluster_cpu(node) -> float:
    """CPU seconds of a server's postmaster and its children (its backends come and go: counted while alive)."""
    pid = int(open(os.path.join(node.data, "postmaster.pid")).readline())
    return process_cpu([pid, *_children(pid)])


def phase(work: str, service: Service, client, setup: dict, folder: str, pair: ReplicaPair, arguments) -> dict:
    target, method, body, token = peers.work(work, service.port, setup, folder)
    # Each instance writes its own secret: a key with more versions behind it is not compared with a fresh one.
    target = target.replace("bench/written", f"bench/written-{service.port}")
    before = (process_cpu([service.process.pid]), cluster_cpu(pair.primary), cluster_cpu(pair.standby))
    rate, p99 = peers.wrk(target, method, body, token, arguments.connections, arguments.seconds, folder)
    after = (process_cpu([service.process.pid]), cluster_cpu(pair.primary), cluster_cpu(pair.standby))
    requests = rate * arguments.seconds
    coffer, primary, standby = ((a - b) / requests * 1e6 for a, b in zip(after, before))
    return {"rate": rate, "p99": p99, "coffer_us": coffer, "primary_us": primary, "standby_us": standby}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--binary", default=os.path.join(peers.ROOT, ".build", "release", "coffer"))
    arguments = parser.parse_args()
    scratch = tempfile.mkdtemp(prefix="bench-replica-")
    os.chmod(scratch, 0o755)
    pair = ReplicaPair(os.path.join(scratch, "pg"))
    services = []
    try:
        pair.start()
        primary, standby = pair.node_url(pair.primary), pair.node_url(pair.standby)
        base = {"PATH": os.environ["PATH"], "COFFER_DATABASE_URL": primary, "COFFER_ROTATION_SCHEDULER": "false"}
        setups = [("P (primary only)", {}), ("R (read replica)", {"COFFER_READ_REPLICA_URL": standby}),
                  ("W (consistency_index=false)", {"COFFER_CONSISTENCY_INDEX": "false"})]
        clients, folders = [], []
        for name, extra in setups:
            folder = os.path.join(scratch, f"coffer-{len(services)}")
            os.makedirs(folder)
            service = Service(arguments.binary, "postgres", folder, dict(base, **extra))
            if services:
                service.unseal_key, service.root = services[0].unseal_key, services[0].root
            clients.append(service.start())
            services.append(service)
            folders.append(folder)
        setup = peers.prepare(clients[0])
        time.sleep(1)  # the standby has the secret
        plan = [("kv read", 0), ("kv read", 1), ("kv write", 0), ("kv write", 2)]
        best = {}
        for round_number in range(arguments.rounds):
            # Alternate the order, so neither of a pair always runs just after the other's load (autovacuum, checkpoints).
            for work, index in plan if round_number % 2 == 0 else [plan[1], plan[0], plan[3], plan[2]]:
                figures = phase(work, services[index], clients[index], setup, folders[index], pair, arguments)
                key = (work, index)
                if figures["rate"] > best.get(key, {"rate": 0})["rate"]:
                    best[key] = figures
        print(peers.machine())
        print(f"wrk -t1 -c{arguments.connections}, {arguments.seconds} s, best of {arguments.rounds}; a primary and a synchronous "
              f"standby on this machine")
        print()
        print("| work | instance | req/s | p99 ms | CPU µs per request, instance | primary | standby |")
        print("|---|---|---|---|---|---|---|")
        for work, index in plan:
            row = best[(work, index)]
            print(f"| {work} | {setups[index][0]} | {row['rate']:,.0f} | {row['p99']:.1f} | {row['coffer_us']:.0f} "
                  f"| {row['primary_us']:.0f} | {row['standby_us']:.0f} |")
    finally:
        for service in services:
            service.stop()
        pair.stop()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
