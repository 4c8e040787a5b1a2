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
import time

from fault_load import Load, readiness, require_acknowledged, wait_until_writes_succeed
from live_service import Service

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERVER_SCRIPT = os.path.join(ROOT, "scripts", "postgres-test-server.sh")
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
