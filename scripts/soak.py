#!/usr/bin/env python3
"""make soak: a long mixed load on a live Coffer, one table row per minute (Docs/RELIABILITY.md).

For each backend (SQLite in a fresh folder; PostgreSQL in a fresh database on COFFER_TEST_POSTGRES_URL's server,
when it is set), `coffer serve` is started and CONNECTIONS keep-alive connections, each in its own thread and with
a non-root token whose policy allows exactly what the load does, repeat a mix of:

    KV v2 reads (35%) and writes (15%), token creates and revokes (10%), wraps and unwraps (10%),
    metrics ingest (10%), cache puts and gets (20%)

Each row: requests, errors, p50 and p99 latency (as the client sees it), and the service's resident memory
(VmRSS) and open file descriptors, sampled at the end of the minute. After the warm-up (the first interval), the
run passes only with 0 errors, RSS and descriptors within 10% of their smallest sample, and no interval's p99
more than twice the smallest.

    scripts/soak.py [--minutes 10] [--connections 32] [--interval 60] [--binary PATH]

SOAK_MINUTES and SOAK_CONNECTIONS set the defaults.
"""

import argparse
import http.client
import json
import os
import random
import shutil
import sys
import tempfile
import threading
import time

from live_service import Service, drop_postgres_database, postgres_database

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

POLICY = """
path "secret/data/soak/*" { capabilities = ["create", "read", "update"] }
path "auth/token/create" { capabilities = ["create", "update"] }
path "sys/wrapping/wrap" { capabilities = ["update"] }
path "coffer/metrics/points" { capabilities = ["create", "update"] }
path "coffer/cache/entries/soak/*" { capabilities = ["create", "read", "update"] }
"""

MIX = [("kv_read", 35), ("kv_write", 15), ("token", 10), ("wrap", 10), ("metrics", 10), ("cache", 20)]


class Connection:
    """One keep-alive connection with the soak token; reconnects after a failure (which counts as an error)."""

    def __init__(self, port: int, token: str):
        self.port, self.token = port, token
        self.http = None

    def call(self, method: str, path: str, body=None, token=None, headers=None):
        if self.http is None:
            self.http = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"X-Vault-Token": token or self.token, **(headers or {})}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            self.http.request(method, "/v1/" + path, body=data, headers=headers)
            response = self.http.getresponse()
            text = response.read()
        except (OSError, http.client.HTTPException):
            self.http.close()
            self.http = None
            raise
        return response.status, (json.loads(text) if text else {})


class Recorder:
    """Latencies and errors of the current interval, swapped out by the reporter."""

    def __init__(self):
        self.lock = threading.Lock()
        self.latencies, self.errors, self.examples = [], 0, []

    def record(self, seconds: float, ok: bool, what: str):
        with self.lock:
            self.latencies.append(seconds)
            if not ok:
                self.errors += 1
                if len(self.examples) < 3:
                    self.examples.append(what)

    def take(self):
        with self.lock:
            taken = (self.latencies, self.errors, self.examples)
            self.latencies, self.errors, self.examples = [], 0, []
        return taken


def operation(connection: Connection, name: str, worker: int, rng: random.Random, recorder: Recorder):
    """One logical operation: one or two requests, each timed; any answer but the expected one is an error."""

    def timed(expected, method, path, body=None, token=None, headers=None):
        started = time.monotonic()
        try:
            status, answer = connection.call(method, path, body, token, headers)
            ok = status in expected
            what = f"{method} {path}: {status} {json.dumps(answer.get('errors', ''))[:200]}"
        except (OSError, http.client.HTTPException) as error:
            status, answer, ok, what = 0, {}, False, f"{method} {path}: {type(error).__name__}: {error}"
        recorder.record(time.monotonic() - started, ok, what)
        return answer if ok else None

    key = f"soak/w{worker}/k{rng.randrange(20)}"
    if name == "kv_read":
        timed((200, 404), "GET", f"secret/data/{key}")
    elif name == "kv_write":
        timed((200,), "POST", f"secret/data/{key}", {"data": {"value": f"{rng.getrandbits(64):016x}", "n": worker}})
    elif name == "token":
        created = timed((200,), "POST", "auth/token/create", {"policies": ["default"], "ttl": "5m"})
        if created:
            timed((204,), "POST", "auth/token/revoke-self", {}, token=created["auth"]["client_token"])
    elif name == "wrap":
        wrapped = timed((200,), "POST", "sys/wrapping/wrap", {"secret": f"{rng.getrandbits(64):016x}"},
                        headers={"X-Vault-Wrap-TTL": "5m"})
        if wrapped:
            timed((200,), "POST", "sys/wrapping/unwrap", {}, token=wrapped["wrap_info"]["token"])
    elif name == "metrics":
        now = int(time.time() * 1000)
        timed((200,), "POST", "coffer/metrics/points", {"points": [
            {"name": "soak_requests", "labels": {"worker": str(worker), "n": str(i)}, "value": rng.random(),
             "timestamp": f"{now / 1000 + i / 1000:.3f}"} for i in range(5)]})
    elif name == "cache":
        path = f"coffer/cache/entries/soak/w{worker}-k{rng.randrange(50)}"
        if rng.random() < 0.25:
            timed((200, 204), "PUT", path, {"value": f"{rng.getrandbits(64):016x}", "ttl": "10m"})
        else:
            timed((200, 404), "GET", path)


def process_figures(pid: int):
    with open(f"/proc/{pid}/status") as status:
        rss = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
    return rss // 1024, len(os.listdir(f"/proc/{pid}/fd"))


def percentile(values, fraction):
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def soak(args, backend: str, environment: dict) -> bool:
    folder = tempfile.mkdtemp(prefix=f"coffer-soak-{backend}-")
    service = Service(args.binary, backend, folder, environment)
    try:
        root = service.start()
        status, answer = root.call("PUT", "sys/policies/acl/soak", {"policy": POLICY})
        assert status in (200, 204), answer
        status, answer = root.call("POST", "auth/token/create", {"policies": ["soak"], "ttl": "24h"})
        assert status == 200, answer
        token = answer["auth"]["client_token"]
        recorder, stop = Recorder(), threading.Event()
        names = [name for name, weight in MIX for _ in range(weight)]

        def worker(index: int):
            rng = random.Random(args.seed * 1000 + index)
            connection = Connection(service.port, token)
            while not stop.is_set():
                operation(connection, rng.choice(names), index, rng, recorder)

        threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(args.connections)]
        for thread in threads:
            thread.start()
        print(f"== {backend}: {args.connections} connections for {args.minutes} min, a row every {args.interval} s",
              flush=True)
        print(f"{'interval':>8} {'requests':>9} {'req/s':>6} {'errors':>6} {'p50 ms':>7} {'p99 ms':>7} {'RSS MiB':>8} "
              f"{'fds':>5}", flush=True)
        rows, examples = [], []
        intervals = max(1, round(args.minutes * 60 / args.interval))
        for index in range(intervals):
            time.sleep(args.interval)
            latencies, errors, seen = recorder.take()
            rss, fds = process_figures(service.process.pid)
            row = {"requests": len(latencies), "errors": errors, "p50": percentile(latencies, 0.50) * 1000,
                   "p99": percentile(latencies, 0.99) * 1000, "rss": rss, "fds": fds}
            rows.append(row)
            examples += seen
            print(f"{index + 1:>8} {row['requests']:>9,} {row['requests'] / args.interval:>6.0f} {errors:>6} "
                  f"{row['p50']:>7.1f} {row['p99']:>7.1f} {rss:>8} {fds:>5}", flush=True)
        stop.set()
        for thread in threads:
            thread.join(timeout=40)

        steady = rows[1:] or rows
        failures = []
        errors = sum(row["errors"] for row in rows)
        if errors:
            failures.append(f"{errors} errors, such as: " + "; ".join(examples[:3]))
        # Under AddressSanitizer RSS grows with its quarantine of freed memory, and every call is slower: only errors
        # and leaks are judged then.
        for figure, label in () if args.leak_check else (("rss", "RSS"), ("fds", "open descriptors")):
            low, high = min(r[figure] for r in steady), max(r[figure] for r in steady)
            if high > low * 1.10:
                failures.append(f"{label} grew from {low} to {high} after the warm-up (more than 10%)")
        low, high = min(r["p99"] for r in steady), max(r["p99"] for r in steady)
        if high > 2 * low and not args.leak_check:
            failures.append(f"p99 ranged from {low:.1f} ms to {high:.1f} ms after the warm-up (more than twice)")
        total = sum(row["requests"] for row in rows)
        print(f"   {backend}: {total:,} requests, {errors} errors; after the warm-up RSS "
              f"{min(r['rss'] for r in steady)}–{max(r['rss'] for r in steady)} MiB, descriptors "
              f"{min(r['fds'] for r in steady)}–{max(r['fds'] for r in steady)}, p99 {low:.1f}–{high:.1f} ms", flush=True)
        service.stop()
        if args.leak_check:
            failures += leak_report(service.log.name, backend)
        for failure in failures:
            print(f"   FAILED: {failure}", flush=True)
        return not failures
    finally:
        service.stop()
        shutil.rmtree(folder, ignore_errors=True)


def leak_report(log_path: str, backend: str) -> list:
    """LeakSanitizer's verdict on the stopped server (built with -sanitize=address): it checks at exit, and with
    verbosity=1 says that it did, so a run where the check never happened cannot pass as clean."""
    with open(log_path, errors="replace") as handle:
        log = handle.read()
    if "ERROR: LeakSanitizer" in log:
        summary = next((line for line in log.splitlines() if line.startswith("SUMMARY: AddressSanitizer")), "")
        return [f"LeakSanitizer: {summary}\n{log[log.index('ERROR: LeakSanitizer'):][:6000]}"]
    if "ERROR: AddressSanitizer" in log or "Sanitizer has encountered a fatal error" in log:
        return [f"AddressSanitizer reported on the server:\n{log[-4000:]}"]
    if "LeakSanitizer: checking for leaks" not in log:
        return ["LeakSanitizer never checked the server (did it exit cleanly, and is the binary built with ASan?)"]
    print(f"   {backend}: LeakSanitizer checked the server at exit: no leak", flush=True)
    return []


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=float(os.environ.get("SOAK_MINUTES", "10")))
    parser.add_argument("--connections", type=int, default=int(os.environ.get("SOAK_CONNECTIONS", "32")))
    parser.add_argument("--interval", type=float, default=60.0, help="seconds per table row (the first is warm-up)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--binary", default=os.environ.get("COFFER_BIN", os.path.join(ROOT, ".build", "debug", "coffer")))
    parser.add_argument("--leak-check", action="store_true",
                        help="the binary is built with -sanitize=address: run it with LeakSanitizer on and fail on a leak")
    args = parser.parse_args()
    args.binary = os.path.abspath(args.binary)  # the service runs in its own folder
    environment = {k: v for k, v in os.environ.items() if not k.startswith("COFFER_")}
    if args.leak_check:
        # The server alone, so XCTest's own leaks do not count; exit code left alone so a leak is read from the log.
        environment["ASAN_OPTIONS"] = "detect_leaks=1:leak_check_at_exit=1:halt_on_error=0:verbosity=1"
        environment["SWIFT_BACKTRACE"] = "enable=no"
    passed = True
    for backend in args.backends.split(","):
        if backend == "sqlite":
            passed &= soak(args, "sqlite", environment)
        elif backend == "postgres":
            server = os.environ.get("COFFER_TEST_POSTGRES_URL")
            if not server:
                print("COFFER_TEST_POSTGRES_URL is not set: PostgreSQL not soaked", flush=True)
                continue
            database = f"coffer_soak_{os.getpid()}"
            try:
                url = postgres_database(server, database)
                passed &= soak(args, "postgres", dict(environment, COFFER_DATABASE_URL=url))
            finally:
                drop_postgres_database(server, database)
        else:
            sys.exit(f"unknown backend {backend}: sqlite or postgres")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
