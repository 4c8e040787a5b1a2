#!/usr/bin/env python3
"""make dependency-faults: Coffer while what it depends on fails, and after it comes back.

PostgreSQL stopped mid-load: a private PostgreSQL server (scripts/postgres-test-server.sh) is halted at once
(`pg_ctl -m immediate`, as a crash or a lost host would) under a load of check-and-set KV writes and reads, kept
down, then started again. While it is down every request is answered within the client's bound (no hang) with a
503 that says storage is unavailable, never a 500, and the readiness probe says not ready; once it is back,
the same Coffer process (never restarted) serves again within a bound, every write it acknowledged is there,
and the audit trail verifies.

SQLite's disk: Coffer's data folder on a small tmpfs (mounted here, so this needs root), started with an 8 MiB
free-space floor (storage_min_free) and loaded. A filler file first leaves 4 MiB: every read is answered 200 and
every write refused 503 with the floor's message. A second filler takes the rest: every request is answered (503
or 200, never a 500 or a hang), the readiness reason names the full disk (the audit entries are in the same
database, so it is also the audit writer's disk that fills: the Gate fails closed). Once both are removed,
writes succeed again without a restart, nothing acknowledged is lost, and the audit trail verifies.

    scripts/dependency-faults.py [--binary PATH] [--outage-seconds S]
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

from live_service import Client, InDoubt, Refused, Service

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERVER_SCRIPT = os.path.join(ROOT, "scripts", "postgres-test-server.sh")
# A request unanswered for this long counts as a hang.
BOUND = 10.0


class Load:
    """Writers (check-and-set, one key each) and a reader, recording what was acknowledged and every answer."""

    def __init__(self, client: Client, writers: int = 4):
        self.client, self.stop = client, threading.Event()
        self.acknowledged = {f"fault/w{i}": {} for i in range(writers)}
        self.failures, self.messages = [], set()
        self.by_kind = {"read": {}, "write": {}}
        self.counted_from = 0.0
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.write, args=(key,)) for key in self.acknowledged]
        self.threads.append(threading.Thread(target=self.read))

    def record(self, status: int, answer: dict, what: str, started: float = 0.0):
        kind = "read" if what == "a read" else "write"
        with self.lock:
            # By kind, only requests sent after `counted_from`: one in flight when a fault began is not judged by it.
            if started >= self.counted_from:
                self.by_kind[kind][status] = self.by_kind[kind].get(status, 0) + 1
            if status >= 500:
                self.messages.update(answer.get("errors", []) or ["(no message)"])
            if status == 500 or status > 503:
                self.failures.append(f"{what} answered {status}: {answer}")

    def call(self, method: str, path: str, body=None):
        try:
            return self.client.call(method, path, body, timeout=BOUND)
        except Refused:
            self.failures.append(f"{method} {path}: connection refused (Coffer went away)")
        except InDoubt as error:
            self.failures.append(f"{method} {path}: no answer within {BOUND} s ({error})")
        return None, {}

    def write(self, key: str):
        version = 0
        while not self.stop.is_set():
            value = f"{key}-{version + 1}"
            started = time.monotonic()
            status, answer = self.call("POST", f"secret/data/{key}", {"options": {"cas": version}, "data": {"v": value}})
            if status is None:
                return
            self.record(status, answer, f"a write of {key}", started)
            if status == 200:
                version = answer["data"]["version"]
                with self.lock:
                    self.acknowledged[key][version] = value
            elif status == 400:
                # A write applied whose answer was lost to the outage: the next CAS must start from what is stored.
                status, metadata = self.call("GET", f"secret/metadata/{key}")
                if status == 200:
                    version = metadata["data"]["current_version"]
            time.sleep(0.01)

    def read(self):
        while not self.stop.is_set():
            started = time.monotonic()
            status, answer = self.call("GET", "secret/data/fault/w0")
            if status is None:
                return
            self.record(status, answer, "a read", started)
            time.sleep(0.01)

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=BOUND * 3)

    def take(self):
        """(statuses, messages) since the last take, reads and writes together."""
        reads, writes, messages = self.take_by_kind()
        return {status: reads.get(status, 0) + writes.get(status, 0) for status in set(reads) | set(writes)}, messages

    def take_by_kind(self):
        """(reads, writes, messages) since the last take: statuses counted by kind."""
        with self.lock:
            reads, writes, messages = dict(self.by_kind["read"]), dict(self.by_kind["write"]), set(self.messages)
            self.by_kind, self.messages = {"read": {}, "write": {}}, set()
        return reads, writes, messages


def require_acknowledged(client: Client, load: Load, where: str):
    for key, versions in load.acknowledged.items():
        status, metadata = client.call("GET", f"secret/metadata/{key}")
        newest = max(versions, default=0)
        assert status == 200 and metadata["data"]["current_version"] >= newest, (
            f"{where}: {key} is at {status} {metadata.get('data', {}).get('current_version')}, {newest} was acknowledged")
        # A key keeps its newest 10 versions (Vault's default max_versions): older ones are pruned by design.
        for version, value in versions.items():
            if version <= metadata["data"]["current_version"] - 10:
                continue
            status, answer = client.call("GET", f"secret/data/{key}?version={version}")
            assert status == 200 and answer["data"]["data"] == {"v": value}, (
                f"{where}: acknowledged version {version} of {key} reads {status} {answer}")
    status, verify = client.call("GET", "sys/audit-trail/verify", timeout=60)
    assert status == 200 and verify["data"]["intact"], f"{where}: the audit trail does not verify: {verify}"


def wait_until_writes_succeed(client: Client, where: str, bound: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < bound:
        try:
            status, _ = client.call("POST", "secret/data/fault/probe", {"data": {"v": "probe"}}, timeout=BOUND)
            if status == 200:
                return time.monotonic() - started
        except (Refused, InDoubt):
            pass
        time.sleep(0.25)
    raise AssertionError(f"{where}: writes did not succeed again within {bound} s, without a restart")


def readiness(client: Client):
    try:
        return client.call("GET", "coffer/health/ready", token="", timeout=BOUND)
    except (Refused, InDoubt) as error:
        raise AssertionError(f"the readiness probe did not answer within {BOUND} s: {error}")


def postgres_outage(args, environment: dict) -> dict:
    scratch = tempfile.mkdtemp(prefix="coffer-outage-")
    os.chmod(scratch, 0o755)
    server_dir = os.path.join(scratch, "pg")
    url = subprocess.run(["bash", SERVER_SCRIPT, "start", server_dir], check=True, capture_output=True, text=True).stdout.strip()
    folder = tempfile.mkdtemp(prefix="coffer-outage-service-")
    service = Service(args.binary, "postgres", folder, dict(environment, COFFER_DATABASE_URL=url))
    passed = False
    try:
        client = service.start()
        with Load(client) as load:
            time.sleep(2)
            before, _ = load.take()
            subprocess.run(["bash", SERVER_SCRIPT, "halt", server_dir], check=True)
            time.sleep(1)
            ready_status, ready = readiness(client)
            time.sleep(args.outage_seconds)
            during, messages = load.take()
            subprocess.run(["bash", SERVER_SCRIPT, "resume", server_dir], check=True)
            recovered = wait_until_writes_succeed(client, "after PostgreSQL came back", 60)
            time.sleep(2)
        after, _ = load.take()
        assert not load.failures, "; ".join(load.failures[:5])
        assert during.get(503, 0) > 0, f"no 503 while PostgreSQL was down: {during}"
        assert set(during) <= {200, 503}, f"answers while PostgreSQL was down: {during}"
        assert ready_status == 503 and ready.get("reason"), (
            f"the readiness probe answered {ready_status} {ready} while PostgreSQL was down (it must say why)")
        # The Gate refuses first when the audit entry cannot be written, otherwise the store says it is unavailable.
        assert messages and all("storage" in m or "audit log" in m for m in messages), f"503s that do not say why: {messages}"
        assert after.get(200, 0) > 0, f"no success after PostgreSQL came back: {after}"
        status, ready_after = readiness(client)
        assert status == 200, f"not ready again after PostgreSQL came back: {ready_after}"
        require_acknowledged(client, load, "after the PostgreSQL outage")
        passed = True
        acknowledged = sum(len(v) for v in load.acknowledged.values())
        print(f"   postgres outage: before {before}, down {args.outage_seconds} s {during} ({'; '.join(sorted(messages))}), "
              f"ready probe {ready_status} ({str(ready)[:160]}); writes again {recovered:.1f} s after the "
              f"server was back; after {after}; {acknowledged} acknowledged writes all present; audit trail intact",
              flush=True)
        return {"before": before, "down": during, "after": after, "recovered_seconds": round(recovered, 1),
                "acknowledged": acknowledged}
    finally:
        service.stop()
        subprocess.run(["bash", SERVER_SCRIPT, "stop", server_dir], check=False)
        shutil.rmtree(scratch, ignore_errors=True)
        if passed:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            print(f"   coffer's log: {service.log.name}", flush=True)


def fill(path: str):
    """Writes zeros into `path` until the file system is full."""
    block = b"\0" * (64 * 1024)
    with open(path, "wb", buffering=0) as handle:
        try:
            while True:
                handle.write(block)
        except OSError:
            pass
        # The last partial block: fill byte by byte chunks until nothing more fits.
        for size in (4096, 512, 1):
            try:
                while True:
                    handle.write(b"\0" * size)
            except OSError:
                continue


def leave(path: str, folder: str, free_bytes: int):
    """Writes a file into `folder`'s file system until only about `free_bytes` are left."""
    stats = os.statvfs(folder)
    size = stats.f_bavail * stats.f_frsize - free_bytes
    with open(path, "wb") as handle:
        for _ in range(max(0, size) // (1 << 20)):
            handle.write(b"\0" * (1 << 20))
        handle.write(b"\0" * (max(0, size) % (1 << 20)))


def sqlite_disk_full(args, environment: dict) -> dict:
    # The data folder (coffer-data: the database, its WAL, the dev keys) is the tmpfs; the log stays outside it.
    folder = tempfile.mkdtemp(prefix="coffer-full-")
    mount = os.path.join(folder, "coffer-data")
    os.makedirs(mount)
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={args.tmpfs_mb}m", "tmpfs", mount], capture_output=True, text=True)
    if result.returncode != 0:
        # A container without CAP_SYS_ADMIN refuses the mount even to root: said plainly, never counted as passed.
        print(f"   NOT RUN: this machine refuses to mount a tmpfs ({result.stderr.strip()})", flush=True)
        shutil.rmtree(folder, ignore_errors=True)
        return None
    floor = 8 << 20
    service = Service(args.binary, "sqlite", folder, dict(environment, COFFER_STORAGE_MIN_FREE=str(floor)))
    passed = False
    try:
        client = service.start()
        low_filler, filler = os.path.join(mount, "low-filler"), os.path.join(mount, "filler")
        with Load(client) as load:
            time.sleep(2)
            before = load.take_by_kind()
            # Under the floor (8 MiB) with room left (4 MiB): changes refused, reads go on.
            leave(low_filler, mount, 4 << 20)
            # The floor's measurement is reused for up to a second: judged are the requests sent after that.
            load.counted_from = time.monotonic() + 1.1
            time.sleep(1.5)
            load.take_by_kind()
            time.sleep(args.outage_seconds)
            low_reads, low_writes, low_messages = load.take_by_kind()
            # Then nothing left at all: the audit entries cannot be written, so everything fails closed.
            fill(filler)
            time.sleep(args.outage_seconds)
            full_reads, full_writes, full_messages = load.take_by_kind()
            ready_status, ready = readiness(client)
            os.remove(filler)
            os.remove(low_filler)
            recovered = wait_until_writes_succeed(client, "after space came back", 30)
            time.sleep(2)
        after = load.take_by_kind()
        assert not load.failures, "; ".join(load.failures[:5])
        assert set(low_reads) == {200}, f"reads under the floor: {low_reads} (they must go on)"
        assert set(low_writes) == {503}, f"writes under the floor: {low_writes} (they must be refused)"
        assert low_messages and all("storage_min_free" in m for m in low_messages), f"refusals under the floor: {low_messages}"
        assert set(full_reads) | set(full_writes) <= {200, 503} and full_writes.get(503, 0) > 0, (
            f"with the disk full: reads {full_reads}, writes {full_writes}")
        assert full_messages and all("audit log" in m or "storage" in m for m in full_messages), f"refusals: {full_messages}"
        assert ready_status == 503 and "full" in ready.get("reason", ""), f"the readiness probe while the disk was full: {ready_status} {ready}"
        assert after[1].get(200, 0) > 0 and after[0].get(200, 0) > 0, f"after space came back: reads {after[0]}, writes {after[1]}"
        require_acknowledged(client, load, "after the disk was full")
        passed = True
        acknowledged = sum(len(v) for v in load.acknowledged.values())
        print(f"   sqlite disk ({args.tmpfs_mb} MiB tmpfs): before reads {before[0]} writes {before[1]}; under the floor "
              f"({floor >> 20} MiB, 4 MiB left) {args.outage_seconds} s: reads {low_reads}, writes {low_writes} "
              f"({'; '.join(sorted(low_messages))}); full {args.outage_seconds} s: reads {full_reads}, writes {full_writes} "
              f"({'; '.join(sorted(full_messages))}), ready probe {ready_status} ({str(ready)[:160]}); writes again "
              f"{recovered:.1f} s after space came back; after reads {after[0]} writes {after[1]}; {acknowledged} "
              f"acknowledged writes all present; audit trail intact", flush=True)
        return {"low": [low_reads, low_writes], "full": [full_reads, full_writes], "recovered_seconds": round(recovered, 1),
                "acknowledged": acknowledged}
    finally:
        service.stop()
        subprocess.run(["umount", "-l", mount], check=False)
        if passed:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            print(f"   coffer's log: {service.log.name}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=os.environ.get("COFFER_BIN", os.path.join(ROOT, ".build", "debug", "coffer")))
    parser.add_argument("--outage-seconds", type=float, default=5.0)
    parser.add_argument("--tmpfs-mb", type=int, default=24)
    parser.add_argument("--only", default="postgres,sqlite")
    args = parser.parse_args()
    args.binary = os.path.abspath(args.binary)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("COFFER_")}
    if "postgres" in args.only:
        print("== postgres: the server halted under load, then started again", flush=True)
        postgres_outage(args, environment)
    if "sqlite" in args.only:
        print("== sqlite: the data folder's disk full under load, then space freed", flush=True)
        if os.geteuid() != 0:
            # Mounting the small file system needs root. CI runs as root, so there it is never left out.
            print("   NOT RUN: the full-disk test mounts a tmpfs and needs root", flush=True)
            if os.environ.get("CI"):
                return 1
        elif sqlite_disk_full(args, environment) is None:
            print("dependency-faults: the full-disk test was NOT RUN (see above); what ran passed")
            return 0
    print("dependency-faults: no 500, no hang, clear refusals, recovery without a restart, nothing acknowledged lost")
    return 0


if __name__ == "__main__":
    sys.exit(main())
