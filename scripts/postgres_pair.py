"""A PostgreSQL 15 primary and a hot standby on loopback, for the failover test (scripts/failover-test.py).

The standby is made with `pg_basebackup -R` and streams from the primary; once it streams, the primary names it
in `synchronous_standby_names`, so a commit is acknowledged only after the standby has flushed it. A failover
kills every process of the primary at once (SIGKILL, as a lost host would), promotes the standby, and clears
`synchronous_standby_names` on the new primary (with no standby left, a synchronous commit would wait forever;
a failover manager such as Patroni does the same). `rejoin` then rebuilds the lost node as a standby of the new
primary and makes it synchronous again, so the next failover starts from two synchronous copies.

Coffer is given both nodes in one libpq multi-host URL with `target_session_attrs=read-write`: libpq tries them
in order and keeps the one that accepts writes, whichever it is now. As root, the servers run as the
unprivileged user `coffer-pg` (PostgreSQL refuses to run as root), like scripts/postgres-test-server.sh.
"""

import os
import shutil
import signal
import subprocess
import time

from live_service import free_port

PGBIN = os.environ.get("PGBIN", "/usr/lib/postgresql/15/bin")
DATABASE = "coffer_test"
HBA = """local all coffer trust
host  all coffer 127.0.0.1/32 trust
host  replication coffer 127.0.0.1/32 trust
local all all scram-sha-256
host  all all 127.0.0.1/32 scram-sha-256
"""


def _children(pid: int) -> list:
    """The processes whose parent is `pid`, from /proc (no procps needed)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = open(f"/proc/{entry}/stat").read()
            except OSError:
                continue
            # The command name (field 2) may hold spaces; the parent pid is the second field after it.
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def _command_line(pid: int) -> str:
    try:
        return open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace")
    except OSError:
        return ""


def _as_owner(arguments: list, **options) -> subprocess.CompletedProcess:
    prefix = ["runuser", "-u", "coffer-pg", "--"] if os.geteuid() == 0 else []
    return subprocess.run(prefix + arguments, **options)


class Node:
    """One server: its data folder and fixed port (kept across rebuilds, so the URL never changes)."""

    def __init__(self, folder: str, name: str):
        self.name, self.folder = name, os.path.join(folder, name)
        self.data, self.port = os.path.join(self.folder, "data"), free_port()
        self.log = os.path.join(self.folder, "server.log")

    def start(self, extra: str = ""):
        options = (f"{extra} -c listen_addresses=127.0.0.1 -p {self.port} -k {self.folder} -c max_connections=200 "
                   "-c wal_level=replica -c hot_standby=on -c wal_keep_size=256MB -c max_wal_senders=10 "
                   "-c fsync=off")  # the test kills processes, never the machine: the page cache survives
        result = _as_owner([f"{PGBIN}/pg_ctl", "-D", self.data, "-l", self.log, "-w", "-t", "60", "-o", options, "start"],
                           capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"{self.name} did not start: {result.stderr}\n{open(self.log).read()[-2000:]}")

    def sql(self, statement: str, database: str = "postgres") -> str:
        result = subprocess.run(
            ["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "coffer", "-d", database, "-Atq", "-c", statement],
            capture_output=True, text=True, timeout=30)
        if result.returncode != 0:
            raise RuntimeError(f"{self.name}: {statement}: {result.stderr.strip()}")
        return result.stdout.strip()

    def kill(self):
        """SIGKILL to the postmaster and every child at once: nothing gets to flush, close or say goodbye."""
        pid = int(open(os.path.join(self.data, "postmaster.pid")).readline())
        for process in [pid, *_children(pid)]:
            try:
                os.kill(process, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and os.path.exists(f"/proc/{pid}"):
            time.sleep(0.02)

    def stop(self):
        if os.path.exists(os.path.join(self.data, "postmaster.pid")):
            _as_owner([f"{PGBIN}/pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop"], capture_output=True)


class ReplicaPair:
    """`synchronous=False` leaves replication asynchronous: only for showing that the test catches lost writes."""

    def __init__(self, folder: str, synchronous: bool = True, apply_delay_ms: int = 0):
        if os.geteuid() == 0 and subprocess.run(["id", "coffer-pg"], capture_output=True).returncode != 0:
            subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "coffer-pg"], check=True)
        self.folder = folder
        self.primary, self.standby = Node(folder, "a"), Node(folder, "b")
        self.failovers = 0
        self.synchronous = synchronous
        # recovery_min_apply_delay: a standby that receives (and, synchronous, flushes) at once but replays late,
        # so a read served by it before the delay is over is visibly stale.
        self.apply_delay_ms = apply_delay_ms

    @staticmethod
    def node_url(node: Node) -> str:
        return f"postgres://coffer@127.0.0.1:{node.port}/{DATABASE}?connect_timeout=2"

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{node.port}" for node in (self.primary, self.standby))
        return f"postgres://coffer@{hosts}/{DATABASE}?target_session_attrs=read-write&connect_timeout=2"

    def start(self):
        for node in (self.primary, self.standby):
            os.makedirs(node.folder, exist_ok=True)
            if os.geteuid() == 0:
                shutil.chown(node.folder, "coffer-pg")
        node = self.primary
        result = _as_owner([f"{PGBIN}/initdb", "-D", node.data, "--auth=trust", "-E", "UTF8", "--no-locale", "-U", "coffer"],
                           capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"initdb: {result.stderr}")
        _as_owner(["bash", "-c", f"cat > '{node.data}/pg_hba.conf'"], input=HBA, text=True, check=True)
        node.start()
        node.sql(f'CREATE DATABASE "{DATABASE}"')
        self._attach(self.standby)

    def _attach(self, node: Node):
        """Makes `node` a streaming standby of the primary, then synchronous."""
        shutil.rmtree(node.data, ignore_errors=True)
        result = _as_owner([f"{PGBIN}/pg_basebackup", "-h", "127.0.0.1", "-p", str(self.primary.port), "-U", "coffer",
                            "-D", node.data, "-R", "-X", "stream", "-c", "fast"], capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"pg_basebackup for {node.name}: {result.stderr}")
        node.start(f"-c recovery_min_apply_delay={self.apply_delay_ms}ms")
        self._wait(lambda: self.primary.sql("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'") == "1",
                   f"{node.name} streaming from {self.primary.name}")
        if not self.synchronous:
            return
        self.primary.sql("ALTER SYSTEM SET synchronous_standby_names = '*'")
        self.primary.sql("SELECT pg_reload_conf()")
        self._wait(lambda: self.primary.sql("SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'") == "1",
                   f"{node.name} synchronous")

    @staticmethod
    def _wait(condition, what: str, bound: float = 60):
        deadline = time.monotonic() + bound
        while not condition():
            if time.monotonic() > deadline:
                raise RuntimeError(f"not {what} within {bound} s")
            time.sleep(0.1)

    def pause_replication(self):
        """SIGSTOP the primary's WAL sender: with asynchronous replication the primary goes on acknowledging
        commits it never sends (a stopped receiver would not do: what was sent waits in its socket buffer)."""
        pid = int(open(os.path.join(self.primary.data, "postmaster.pid")).readline())
        for child in _children(pid):
            if "walsender" in _command_line(child):
                os.kill(child, signal.SIGSTOP)

    def kill_primary(self):
        self.primary.kill()

    def promote(self) -> float:
        """Promotes the standby; it becomes the primary. Returns the seconds `pg_ctl promote` took."""
        started = time.monotonic()
        result = _as_owner([f"{PGBIN}/pg_ctl", "-D", self.standby.data, "-w", "-t", "60", "promote"], capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"promote {self.standby.name}: {result.stderr}")
        self.primary, self.standby = self.standby, self.primary
        self.primary.sql("ALTER SYSTEM RESET synchronous_standby_names")
        self.primary.sql("SELECT pg_reload_conf()")
        self.failovers += 1
        return time.monotonic() - started

    def rejoin(self) -> float:
        """Rebuilds the lost node as a synchronous standby of the new primary. Returns the seconds it took."""
        started = time.monotonic()
        self.standby.stop()
        self._attach(self.standby)
        return time.monotonic() - started

    def stop(self):
        for node in (self.primary, self.standby):
            node.stop()
        shutil.rmtree(self.folder, ignore_errors=True)
