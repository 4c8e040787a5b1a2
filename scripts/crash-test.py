#!/usr/bin/env python3
"""make crash-test: SIGKILL a live Coffer at random instants under load, restart it, check what survived.

For each backend (SQLite in a fresh folder; PostgreSQL in a fresh database on COFFER_TEST_POSTGRES_URL's
server, when it is set) the service is started and, round after round, loaded by a mix of writers, then
killed with SIGKILL at a random instant, restarted (and unsealed) and checked:

- KV check-and-set writes: every version a client saw acknowledged reads back with its value; a version
  beyond the last acknowledged one exists only if its write was in flight at the kill, and then whole,
  with that write's value (nothing half-applied); the next check-and-set write continues the sequence.
- Tokens: every token whose creation was acknowledged still looks itself up; every token whose revocation
  was acknowledged is refused.
- Response wrapping: a wrapping token whose unwrap was acknowledged cannot be unwrapped again; one that
  was wrapped and not yet unwrapped unwraps once, with its data, and never twice; one whose unwrap was in
  flight at the kill unwraps at most once more.
- Key terms: a thread adds key terms (sys/rotate) and rewraps records in small batches (sys/rewrap), so
  kills land inside both; every acknowledged secret must still decrypt afterwards.
- The audit trail: the chain and its checkpoints verify after every restart (the group commit of audit
  entries is under the same kills).

Then the migrations: `coffer migrate` on an empty database is killed at a random instant, run again, and the
schema it ends with must equal a schema migrated without a kill.

Then the failpoints (crash_failpoints.py): the service kills itself at a named instant inside key rotation,
rewrap, retiring terms, rekey (before and after its commit), lease creation, revocation and reaping, and what
must hold after each is checked (the lease scenarios need COFFER_TEST_POSTGRES_URL, whose server they manage
roles on).

    scripts/crash-test.py [--kills N] [--migration-kills N] [--seed S] [--binary PATH]

CRASH_KILLS sets --kills per backend (CI runs a bounded sample; the long form, make crash-test, runs 100 per
backend, so 200 in all, plus the migration kills).
"""

import argparse
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

import crash_failpoints
from live_service import Client, InDoubt, Refused, Service, drop_postgres_database, postgres_database

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WRITERS = 4


class Ledger:
    """What clients saw acknowledged, and what was in flight when the service died."""

    def __init__(self):
        self.lock = threading.Lock()
        self.secrets = {}  # key -> {version: value} acknowledged
        self.doubtful_writes = {}  # key -> [value] written without an answer since the last acknowledgement
        self.tokens = set()  # created, acknowledged, not revoked
        self.revoked = set()  # revocation acknowledged
        self.doubtful_revocations = set()
        self.wrapped = {}  # wrapping token -> data, wrap acknowledged, unwrap not attempted
        self.unwrapped = set()  # unwrap acknowledged
        self.doubtful_unwraps = {}  # wrapping token -> data, unwrap in flight at a failure
        self.counts = {"writes": 0, "tokens": 0, "revocations": 0, "wraps": 0, "unwraps": 0, "terms": 0, "rewraps": 0,
                       "in_flight_at_kill": 0, "in_flight_applied": 0}

    def count(self, name: str):
        with self.lock:
            self.counts[name] += 1


def writer(client: Client, ledger: Ledger, key: str, stop: threading.Event, rng: random.Random):
    """Check-and-set writes to one key, each continuing from the last acknowledged version."""
    while not stop.is_set():
        with ledger.lock:
            versions = ledger.secrets.setdefault(key, {})
            cas = max(versions) if versions else 0
        value = f"{key}-{cas + 1}-{rng.getrandbits(48):012x}"
        try:
            status, answer = client.call("POST", f"secret/data/{key}", {"options": {"cas": cas}, "data": {"v": value}})
        except Refused:
            return
        except InDoubt:
            with ledger.lock:
                ledger.doubtful_writes.setdefault(key, []).append(value)
            return
        if status == 200:
            version = answer["data"]["version"]
            if version != cas + 1:
                raise AssertionError(f"{key}: a write with cas={cas} was given version {version}")
            with ledger.lock:
                ledger.secrets[key][version] = value
                ledger.doubtful_writes.pop(key, None)
            ledger.count("writes")
        elif status >= 500:
            # A fail-closed 503 (the audit bound) may come after the write committed: in doubt; stop and
            # let the check after the restart settle it.
            with ledger.lock:
                ledger.doubtful_writes.setdefault(key, []).append(value)
            return
        else:
            raise AssertionError(f"{key}: write with cas={cas} answered {status}: {answer}")


def tokens_and_wraps(client: Client, ledger: Ledger, stop: threading.Event, rng: random.Random):
    """Creates and revokes tokens; wraps data and unwraps it."""
    while not stop.is_set():
        choice = rng.random()
        try:
            if choice < 0.35:
                status, answer = client.call("POST", "auth/token/create", {"ttl": "2h", "policies": ["default"]})
                if status == 200:
                    with ledger.lock:
                        ledger.tokens.add(answer["auth"]["client_token"])
                    ledger.count("tokens")
            elif choice < 0.5:
                with ledger.lock:
                    token = next(iter(ledger.tokens), None)
                    if token:
                        ledger.tokens.discard(token)
                if token is None:
                    continue
                try:
                    status, answer = client.call("POST", "auth/token/revoke", {"token": token})
                except InDoubt:
                    with ledger.lock:
                        ledger.doubtful_revocations.add(token)
                    raise
                except Refused:
                    with ledger.lock:
                        ledger.tokens.add(token)
                    raise
                with ledger.lock:
                    (ledger.revoked if status == 204 else ledger.doubtful_revocations).add(token)
                ledger.count("revocations")
            elif choice < 0.8:
                data = {"n": f"{rng.getrandbits(64):016x}"}
                status, answer = client.call("POST", "sys/wrapping/wrap", data, headers={"X-Vault-Wrap-TTL": "1h"})
                if status == 200:
                    with ledger.lock:
                        ledger.wrapped[answer["wrap_info"]["token"]] = data
                    ledger.count("wraps")
            else:
                with ledger.lock:
                    item = next(iter(ledger.wrapped.items()), None)
                    if item:
                        del ledger.wrapped[item[0]]
                if item is None:
                    continue
                token, data = item
                try:
                    status, answer = client.call("POST", "sys/wrapping/unwrap", {"token": token})
                except (InDoubt, Refused):
                    with ledger.lock:
                        ledger.doubtful_unwraps[token] = data
                    raise
                if status == 200:
                    if answer.get("data") != data:
                        raise AssertionError(f"an unwrap returned {answer.get('data')}, not the wrapped data")
                    with ledger.lock:
                        ledger.unwrapped.add(token)
                    ledger.count("unwraps")
                else:
                    with ledger.lock:
                        ledger.doubtful_unwraps[token] = data
        except (Refused, InDoubt):
            return


def key_terms(client: Client, ledger: Ledger, stop: threading.Event, rng: random.Random):
    """Adds key terms and rewraps records onto the newest one, a few at a time."""
    while not stop.is_set():
        try:
            if rng.random() < 0.3:
                status, _ = client.call("POST", "sys/rotate")
                if status == 204:
                    ledger.count("terms")
            else:
                status, _ = client.call("POST", "sys/rewrap", {"batch_size": rng.choice([1, 3, 8])})
                if status == 200:
                    ledger.count("rewraps")
        except (Refused, InDoubt):
            return
        time.sleep(rng.uniform(0.02, 0.15))


def check(client: Client, ledger: Ledger, backend: str, kill: int):
    """The invariants after a restart; settles what was in doubt."""
    where = f"{backend}, after kill {kill}"
    for key, versions in ledger.secrets.items():
        status, metadata = client.call("GET", f"secret/metadata/{key}")
        acknowledged = max(versions) if versions else 0
        doubtful = ledger.doubtful_writes.pop(key, [])
        if status == 404:
            assert acknowledged == 0, f"{where}: {key} is gone, with version {acknowledged} acknowledged"
            continue
        assert status == 200, f"{where}: metadata of {key} answered {status}: {metadata}"
        current = metadata["data"]["current_version"]
        ledger.counts["in_flight_at_kill"] += len(doubtful)
        ledger.counts["in_flight_applied"] += current - acknowledged
        assert acknowledged <= current <= acknowledged + len(doubtful), (
            f"{where}: {key} is at version {current}; acknowledged {acknowledged}, in flight {len(doubtful)}")
        # A key keeps its newest 10 versions (Vault's default max_versions); older ones are pruned by design.
        for version in [version for version in versions if version <= current - 10]:
            del versions[version]
        assert metadata["data"]["oldest_version"] <= min(versions, default=current), (
            f"{where}: {key} pruned acknowledged versions: oldest is {metadata['data']['oldest_version']}")
        for version, value in versions.items():
            status, answer = client.call("GET", f"secret/data/{key}?version={version}")
            assert status == 200 and answer["data"]["data"] == {"v": value}, (
                f"{where}: acknowledged version {version} of {key} reads {status} {answer}")
        for version in range(acknowledged + 1, current + 1):
            status, answer = client.call("GET", f"secret/data/{key}?version={version}")
            value = (answer.get("data") or {}).get("data", {}).get("v") if status == 200 else None
            assert value in doubtful, f"{where}: version {version} of {key} is not a write that was in flight: {status} {answer}"
            versions[version] = value
    for token in list(ledger.tokens):
        status, answer = client.call("GET", "auth/token/lookup-self", token=token)
        assert status == 200, f"{where}: an acknowledged token no longer looks itself up: {status} {answer}"
    for token in list(ledger.revoked):
        status, _ = client.call("GET", "auth/token/lookup-self", token=token)
        assert status == 403, f"{where}: a token whose revocation was acknowledged answered {status}"
    for token in list(ledger.doubtful_revocations):
        status, _ = client.call("GET", "auth/token/lookup-self", token=token)
        assert status in (200, 403), f"{where}: a token in doubt answered {status}"
        (ledger.tokens if status == 200 else ledger.revoked).add(token)
    ledger.doubtful_revocations.clear()
    for token in list(ledger.unwrapped):
        status, _ = client.call("POST", "sys/wrapping/unwrap", {"token": token})
        assert status == 400, f"{where}: an unwrapped token unwrapped again ({status})"
    ledger.counts["in_flight_at_kill"] += len(ledger.doubtful_revocations) + len(ledger.doubtful_unwraps)
    for token, data in list(ledger.doubtful_unwraps.items()) + list(ledger.wrapped.items()):
        status, answer = client.call("POST", "sys/wrapping/unwrap", {"token": token})
        if token in ledger.wrapped:
            assert status == 200 and answer.get("data") == data, (
                f"{where}: an acknowledged wrap did not unwrap with its data: {status} {answer}")
        else:
            assert status in (200, 400), f"{where}: an unwrap in doubt answered {status} {answer}"
            assert status == 400 or answer.get("data") == data, f"{where}: an unwrap returned other data"
        again, _ = client.call("POST", "sys/wrapping/unwrap", {"token": token})
        assert again == 400, f"{where}: a wrapping token unwrapped twice ({again})"
        ledger.unwrapped.add(token)
    ledger.doubtful_unwraps.clear()
    ledger.wrapped.clear()
    # Bounded so the checks stay cheap as rounds add up; the tokens kept are the newest.
    if len(ledger.unwrapped) > 200:
        ledger.unwrapped = set(list(ledger.unwrapped)[-200:])
    if len(ledger.tokens) > 200:
        ledger.tokens = set(list(ledger.tokens)[-200:])
    status, verify = client.call("GET", "sys/audit-trail/verify", timeout=60)
    assert status == 200 and verify["data"]["intact"], f"{where}: the audit trail does not verify: {verify}"


def run_backend(args, backend: str, environment: dict) -> dict:
    rng = random.Random(f"{args.seed}-{backend}")
    folder = tempfile.mkdtemp(prefix=f"coffer-crash-{backend}-")
    service = Service(args.binary, backend, folder, environment)
    ledger = Ledger()
    passed = False
    started = time.monotonic()
    try:
        client = service.start()
        for kill in range(1, args.kills + 1):
            stop = threading.Event()
            faults = []

            def guarded(target, *arguments):
                # A thread's failed assertion must fail the run, not only print a traceback.
                def body():
                    try:
                        target(*arguments)
                    except BaseException as error:  # noqa: BLE001 - reported below, with its type
                        faults.append(f"{type(error).__name__}: {error}")
                return threading.Thread(target=body)
            threads = [guarded(writer, client, ledger, f"crash/w{i}", stop, random.Random(rng.random())) for i in range(WRITERS)]
            threads.append(guarded(tokens_and_wraps, client, ledger, stop, random.Random(rng.random())))
            threads.append(guarded(key_terms, client, ledger, stop, random.Random(rng.random())))
            for thread in threads:
                thread.start()
            time.sleep(rng.uniform(0.2, 1.2))
            service.kill()
            stop.set()
            for thread in threads:
                thread.join(timeout=30)
            assert not any(thread.is_alive() for thread in threads), f"{backend}, kill {kill}: a client thread hung"
            assert not faults, f"{backend}, kill {kill}: " + "; ".join(faults)
            client = service.start()
            check(client, ledger, backend, kill)
            if kill % 10 == 0 or kill == args.kills:
                print(f"   {backend}: {kill} kills, {ledger.counts}", flush=True)
        passed = True
    finally:
        service.stop()
        if passed:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            print(f"   coffer's log for {backend}: {service.log.name}", flush=True)
    return dict(ledger.counts, kills=args.kills, seconds=round(time.monotonic() - started))


def schema(backend: str, url: str) -> str:
    """The schema as text, to compare a killed-and-resumed migration with a clean one."""
    if backend == "sqlite":
        with sqlite3.connect(url) as db:
            rows = db.execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name").fetchall()
            applied = db.execute("SELECT number, name, checksum FROM schema_migrations ORDER BY number").fetchall()
        return json.dumps([rows, applied])
    dump = subprocess.run(["pg_dump", "--schema-only", "--no-owner", "--no-privileges", url],
                          check=True, capture_output=True, text=True).stdout
    # pg_dump brackets its output with \restrict and \unrestrict and a random key of its own: left out.
    lines = [line for line in dump.splitlines()
             if line and not line.startswith(("--", "\\restrict", "\\unrestrict")) and "pg_dump" not in line]
    applied = subprocess.run(["psql", url, "-Atc", "SELECT number, name, checksum FROM schema_migrations ORDER BY number"],
                             check=True, capture_output=True, text=True).stdout
    return "\n".join(lines) + "\n" + applied


def applied(backend: str, url: str) -> int:
    """How many migrations a killed run left recorded (0 when it died before the bookkeeping table)."""
    if backend == "sqlite":
        if not os.path.exists(url):
            return 0
        with sqlite3.connect(url) as db:
            try:
                return db.execute("SELECT count(*) FROM schema_migrations").fetchone()[0]
            except sqlite3.OperationalError:
                return 0
    result = subprocess.run(["psql", url, "-Atc", "SELECT count(*) FROM schema_migrations"], capture_output=True, text=True)
    return int(result.stdout.strip()) if result.returncode == 0 and result.stdout.strip() else 0


def migrations(args, backend: str, environment: dict, fresh) -> int:
    """Kills `coffer migrate` at random instants; the resumed run must end at the clean schema."""
    rng = random.Random(f"{args.seed}-{backend}-migrations")
    folder = tempfile.mkdtemp(prefix=f"coffer-crash-migrate-{backend}-")
    try:
        def migrate(url: str, kill_after=None):
            process = subprocess.Popen([args.binary, "migrate"], cwd=folder, env=dict(environment, COFFER_DATABASE_URL=url),
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if kill_after is None:
                assert process.wait(timeout=120) == 0, f"{backend}: coffer migrate failed"
                return
            time.sleep(kill_after)
            process.send_signal(signal.SIGKILL)
            process.wait()

        clean_url, clean_path = fresh("clean")
        began = time.monotonic()
        migrate(clean_url)
        duration = time.monotonic() - began  # process start-up included: kills spread over the whole run
        clean = schema(backend, clean_path)
        at_kill = {}
        for kill in range(args.migration_kills):
            url, path = fresh(f"k{kill}")
            migrate(url, kill_after=rng.uniform(0.0, duration))
            count = applied(backend, path)
            at_kill[count] = at_kill.get(count, 0) + 1
            migrate(url)
            resumed = schema(backend, path)
            assert resumed == clean, f"{backend}: the schema after a killed migration differs from a clean one (kill {kill})"
        print(f"   {backend}: migrations applied when killed -> kills: {dict(sorted(at_kill.items()))}", flush=True)
        return args.migration_kills
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=int(os.environ.get("CRASH_KILLS", "100")))
    parser.add_argument("--migration-kills", type=int, default=int(os.environ.get("CRASH_MIGRATION_KILLS", "20")))
    parser.add_argument("--seed", type=int, default=int(os.environ.get("CRASH_SEED", "1")))
    parser.add_argument("--binary", default=os.environ.get("COFFER_BIN", os.path.join(ROOT, ".build", "debug", "coffer")))
    args = parser.parse_args()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("COFFER_")}
    results = {}
    sqlite_folder = tempfile.mkdtemp(prefix="coffer-crash-sqlite-migrations-")
    try:
        print(f"== sqlite: {args.kills} kills under load", flush=True)
        results["sqlite"] = run_backend(args, "sqlite", environment)
        print(f"== sqlite: {args.migration_kills} kills during the migrations", flush=True)

        def sqlite_fresh(name):
            path = os.path.join(sqlite_folder, f"{name}.db")
            return f"sqlite:{path}", path
        results["sqlite"]["migration_kills"] = migrations(args, "sqlite", environment, sqlite_fresh)
    finally:
        shutil.rmtree(sqlite_folder, ignore_errors=True)
    server = os.environ.get("COFFER_TEST_POSTGRES_URL")
    print("== sqlite: failpoints", flush=True)
    results["sqlite"].update(crash_failpoints.run(args.binary, "sqlite", environment, server))
    if server:
        created = []

        def postgres_fresh(name):
            database = f"coffer_crash_{os.getpid()}_{name}"
            created.append(database)
            url = postgres_database(server, database)
            return url, url
        try:
            url, _ = postgres_fresh("load")
            print(f"== postgres: {args.kills} kills under load", flush=True)
            results["postgres"] = run_backend(args, "postgres", dict(environment, COFFER_DATABASE_URL=url))
            print(f"== postgres: {args.migration_kills} kills during the migrations", flush=True)
            results["postgres"]["migration_kills"] = migrations(args, "postgres", environment, postgres_fresh)
            url, _ = postgres_fresh("failpoints")
            print("== postgres: failpoints", flush=True)
            results["postgres"].update(
                crash_failpoints.run(args.binary, "postgres", dict(environment, COFFER_DATABASE_URL=url), server))
        finally:
            for database in created:
                drop_postgres_database(server, database)
    else:
        print("COFFER_TEST_POSTGRES_URL is not set: PostgreSQL not crashed", flush=True)
    print("crash-test: every acknowledged write survived, nothing half-applied, the audit trail verified")
    for backend, counts in results.items():
        print(f"   {backend}: {json.dumps(counts)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
