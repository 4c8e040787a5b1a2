"""The load and the checks shared by the fault scripts (dependency-faults.py, failover-test.py): check-and-set
KV writers and a reader recording every answer and what was acknowledged; then every acknowledged write read back
and the audit trail verified."""

import threading
import time

from live_service import Client, InDoubt, Refused

# A request unanswered for this long counts as a hang.
BOUND = 10.0


class Load:
    """Writers (check-and-set, one key each) and a reader, recording what was acknowledged and every answer.

    A check-and-set key keeps only its newest 10 versions, so a lost version can be written again and pruned
    before the end; `fresh_writers` threads write each value to a new key, so every one of their acknowledged
    writes can be read back at the end (`fresh`: path to value)."""

    def __init__(self, client: Client, writers: int = 4, fresh_writers: int = 0, name: str = "fault"):
        self.client, self.stop, self.name = client, threading.Event(), name
        self.acknowledged = {f"{name}/w{i}": {} for i in range(writers)}
        self.fresh = {}
        self.failures, self.messages = [], set()
        self.by_kind = {"read": {}, "write": {}}
        self.counted_from = 0.0
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.write, args=(key,)) for key in self.acknowledged]
        self.threads += [threading.Thread(target=self.write_fresh, args=(f"{name}/fresh/{i}",)) for i in range(fresh_writers)]
        self.threads.append(threading.Thread(target=self.read))

    def record(self, status: int, answer: dict, what: str, started: float = 0.0, retry_after: str = "1"):
        kind = "read" if what == "a read" else "write"
        with self.lock:
            # By kind, only requests sent after `counted_from`: one in flight when a fault began is not judged by it.
            if started >= self.counted_from:
                self.by_kind[kind][status] = self.by_kind[kind].get(status, 0) + 1
            if status >= 500:
                self.messages.update(answer.get("errors", []) or ["(no message)"])
            if status == 500 or status > 503:
                self.failures.append(f"{what} answered {status}: {answer}")
            if status == 503 and not retry_after.isdigit():
                self.failures.append(f"{what} answered 503 without a Retry-After in seconds ({retry_after!r}): {answer}")

    def call(self, method: str, path: str, body=None):
        """(status, answer, Retry-After or ""); (None, {}, "") after a failure is recorded."""
        try:
            status, answer, headers = self.client.call_with_headers(method, path, body, timeout=BOUND)
            return status, answer, headers.get("retry-after", "")
        except Refused:
            self.failures.append(f"{method} {path}: connection refused (Coffer went away)")
        except InDoubt as error:
            self.failures.append(f"{method} {path}: no answer within {BOUND} s ({error})")
        return None, {}, ""

    def write(self, key: str):
        version = 0
        while not self.stop.is_set():
            value = f"{key}-{version + 1}"
            started = time.monotonic()
            status, answer, retry_after = self.call("POST", f"secret/data/{key}", {"options": {"cas": version}, "data": {"v": value}})
            if status is None:
                return
            self.record(status, answer, f"a write of {key}", started, retry_after)
            if status == 200:
                version = answer["data"]["version"]
                with self.lock:
                    self.acknowledged[key][version] = value
            elif status == 400:
                # A write applied whose answer was lost to the outage: the next CAS must start from what is stored.
                status, metadata, _ = self.call("GET", f"secret/metadata/{key}")
                if status == 200:
                    version = metadata["data"]["current_version"]
            time.sleep(0.01)

    def write_fresh(self, prefix: str):
        number = 0
        while not self.stop.is_set():
            number += 1
            key, value = f"{prefix}-{number}", f"{prefix}-{number}-{time.monotonic_ns()}"
            started = time.monotonic()
            status, answer, retry_after = self.call("POST", f"secret/data/{key}", {"data": {"v": value}})
            if status is None:
                return
            self.record(status, answer, f"a write of {key}", started, retry_after)
            if status == 200:
                with self.lock:
                    self.fresh[key] = value
            time.sleep(0.005)

    def read(self):
        while not self.stop.is_set():
            started = time.monotonic()
            status, answer, retry_after = self.call("GET", f"secret/data/{self.name}/w0")
            if status is None:
                return
            self.record(status, answer, "a read", started, retry_after)
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
    for key, value in load.fresh.items():
        status, answer = client.call("GET", f"secret/data/{key}")
        assert status == 200 and answer["data"]["data"] == {"v": value}, f"{where}: the acknowledged write of {key} reads {status} {answer}"
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
