#!/usr/bin/env python3
"""make failover-test: Coffer on a PostgreSQL primary with a synchronous hot standby, the primary killed under load.

One `coffer serve` is given both servers in a libpq multi-host URL with `target_session_attrs=read-write`
(scripts/postgres_pair.py). Under a load of check-and-set KV writes, writes to fresh keys and reads, each round
kills every process of the primary at once (SIGKILL), waits `--gap-seconds` with no primary at all, promotes the
standby, and once writes succeed again rebuilds the lost node as the new synchronous standby. Judged, every round:
- during the gap every request is answered within the client's bound (10 s: no hang) with a 503 carrying
  Retry-After, never a 500 and never a refused connection; the readiness probe says not ready and why;
- after the promotion the same Coffer process (never restarted) serves writes again within `--recover-bound`
  seconds of the promotion, having reconnected on its own;
and at the end: every write a client saw acknowledged is there with its value (every fresh key, the newest
versions of each check-and-set key) and the audit chain verifies across all the failovers.

    scripts/failover-test.py [--binary PATH] [--failovers N] [--gap-seconds S] [--load-seconds S]

`make test` runs 2 failovers; `make failover-test` runs FAILOVERS (default 10).
"""

import argparse
import os
import shutil
import sys
import tempfile
import time

from fault_load import Load, readiness, require_acknowledged, wait_until_writes_succeed
from live_service import Checks, Service
from postgres_pair import ReplicaPair

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=os.environ.get("COFFER_BIN", os.path.join(ROOT, ".build", "debug", "coffer")))
    parser.add_argument("--failovers", type=int, default=10)
    parser.add_argument("--gap-seconds", type=float, default=2.0, help="time with no primary at all, each round")
    parser.add_argument("--load-seconds", type=float, default=3.0, help="load on the new pair before the next kill")
    parser.add_argument("--recover-bound", type=float, default=15.0)
    parser.add_argument("--unsafe-async", action="store_true",
                        help="self-check: asynchronous replication with the primary's WAL sender paused for a second "
                             "before each kill; the test must then FAIL (acknowledged writes lost)")
    args = parser.parse_args()
    binary = os.path.abspath(args.binary)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("COFFER_")}
    scratch = tempfile.mkdtemp(prefix="coffer-failover-")
    os.chmod(scratch, 0o755)
    pair = ReplicaPair(os.path.join(scratch, "pg"), synchronous=not args.unsafe_async)
    folder = tempfile.mkdtemp(prefix="coffer-failover-service-")
    check = Checks()
    service = None
    passed = False
    rounds = []
    try:
        pair.start()
        print(f"== a primary and {'an ASYNCHRONOUS' if args.unsafe_async else 'a synchronous'} standby; coffer on {pair.url}", flush=True)
        service = Service(binary, "postgres", folder, dict(environment, COFFER_DATABASE_URL=pair.url))
        client = service.start()
        with Load(client, writers=2, fresh_writers=2) as load:
            for number in range(1, args.failovers + 1):
                time.sleep(args.load_seconds)
                if args.unsafe_async:
                    pair.pause_replication()
                    time.sleep(1)
                before, _ = load.take()
                load.counted_from = time.monotonic() + 0.5  # a request in flight at the kill is judged by the bound only
                pair.kill_primary()
                killed = time.monotonic()
                time.sleep(min(1.0, args.gap_seconds))
                ready_status, ready = readiness(client)
                time.sleep(max(0.0, args.gap_seconds - (time.monotonic() - killed)))
                gap, messages = load.take()
                promoted_in = pair.promote()
                promoted = time.monotonic()
                recovered = wait_until_writes_succeed(client, f"failover {number}", args.recover_bound)
                settled, _ = load.take()
                rejoined_in = pair.rejoin()
                check(before.get(200, 0) > 0, f"failover {number}: the load succeeded before the kill", before)
                check(gap.get(503, 0) > 0 and set(gap) <= {503}, f"failover {number}: only 503s with no primary", gap)
                check(ready_status == 503 and bool(ready.get("reason")), f"failover {number}: not ready with no primary",
                      f"{ready_status} {ready}")
                check(bool(messages) and all("storage" in m or "audit log" in m for m in messages),
                      f"failover {number}: the 503s say why", messages)
                rounds.append({"gap": gap, "promote": promoted_in, "recovered": recovered, "rejoin": rejoined_in,
                               "outage": promoted + recovered - killed})
                print(f"   failover {number}: before {before}; {args.gap_seconds:.0f} s without a primary {gap}; promoted in "
                      f"{promoted_in:.2f} s; writes again {recovered:.2f} s after the promotion (outage "
                      f"{promoted + recovered - killed:.1f} s); then {settled}; standby rebuilt in {rejoined_in:.1f} s",
                      flush=True)
            time.sleep(1)
        after, _ = load.take()
        check(not load.failures, "no 500, no 503 without Retry-After, no hang, no refused connection",
              "; ".join(load.failures[:5]))
        check(after.get(200, 0) > 0, "the load succeeds after the last failover", after)
        status, ready = readiness(client)
        check(status == 200, "ready after the last failover", ready)
        acknowledged = sum(len(v) for v in load.acknowledged.values()) + len(load.fresh)
        try:
            require_acknowledged(client, load, f"after {args.failovers} failovers")
            check(True, f"all {acknowledged} acknowledged writes are there; the audit chain verifies")
        except AssertionError as error:
            check(False, "every acknowledged write is there and the audit chain verifies", error)
        passed = not check.failures
        outages = sorted(r["outage"] for r in rounds)
        check.finish("failover-test", (
            f"{args.failovers} failovers, 0 of {acknowledged} acknowledged writes lost; outage (kill to first write) "
            f"min {outages[0]:.1f} s, max {outages[-1]:.1f} s with {args.gap_seconds:.0f} s unpromoted; writes again "
            f"{max(r['recovered'] for r in rounds):.2f} s at most after a promotion; audit chain intact"))
        return 0
    finally:
        if service:
            service.stop()
        pair.stop()
        shutil.rmtree(scratch, ignore_errors=True)
        if passed:
            shutil.rmtree(folder, ignore_errors=True)
        elif service:
            print(f"   coffer's log: {service.log.name}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
