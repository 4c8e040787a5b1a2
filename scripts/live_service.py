"""Helpers shared by the scripts that drive a live `coffer` (fuzz-api.py, crash-test.py, soak.py)."""

import http.client
import json
import os
import signal
import socket
import subprocess
import time
import urllib.parse


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres_database(server_url: str, name: str) -> str:
    """A fresh database on the test server (dropped first if a previous run left it); its URL."""
    drop_postgres_database(server_url, name, check=True)
    subprocess.run(["psql", server_url, "-q", "-c", f'CREATE DATABASE "{name}"'], check=True)
    parts = urllib.parse.urlsplit(server_url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


def drop_postgres_database(server_url: str, name: str, check: bool = False) -> None:
    subprocess.run(["psql", server_url, "-q", "-c", f'DROP DATABASE IF EXISTS "{name}"'], check=check, stderr=subprocess.DEVNULL)


class Refused(Exception):
    """The request never reached the service (connection refused): it cannot have been applied."""


class InDoubt(Exception):
    """The request may or may not have been applied (the connection died, or the service answered 5xx)."""


class Client:
    def __init__(self, port: int, token: str):
        self.port, self.token = port, token

    def call(self, method: str, path: str, body=None, token=None, headers=None, timeout=10.0):
        """(status, parsed body). Raises Refused or InDoubt when no answer came back."""
        status, answer, _ = self.call_with_headers(method, path, body, token, headers, timeout)
        return status, answer

    def call_with_headers(self, method: str, path: str, body=None, token=None, headers=None, timeout=10.0):
        """(status, parsed body, response headers as a lower-cased dict). Raises Refused or InDoubt."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        all_headers = {"X-Vault-Token": token if token is not None else self.token}
        all_headers.update(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            all_headers["Content-Type"] = "application/json"
        try:
            connection.request(method, "/v1/" + path, body=data, headers=all_headers)
            response = connection.getresponse()
            text = response.read()
        except ConnectionRefusedError as error:
            raise Refused() from error
        except (OSError, http.client.HTTPException) as error:
            raise InDoubt(str(error)) from error
        finally:
            connection.close()
        return response.status, (json.loads(text) if text else {}), {k.lower(): v for k, v in response.getheaders()}


class Service:
    """One `coffer serve` process, restarted in the same folder and database after each kill."""

    def __init__(self, binary: str, backend: str, folder: str, environment: dict, dev: bool = None):
        self.binary, self.backend, self.folder, self.environment = binary, backend, folder, environment
        # SQLite runs in dev mode (unsealed at start) unless asked not to; PostgreSQL is initialised with a key file.
        self.dev = backend == "sqlite" if dev is None else dev
        self.process = None
        self.port = 0
        self.unseal_key = None
        self.root = None
        self.log = open(os.path.join(folder, "coffer.log"), "a")

    def start(self, unseal: bool = True, port: int = None):
        """Starts the service (on `port`, else a free one) and waits until it answers; initialises it once, then
        unseals it unless told not to."""
        self.port = port or free_port()
        dev = ["--dev"] if self.dev else []
        self.process = subprocess.Popen(
            [self.binary, "serve", *dev, "--listen", f"127.0.0.1:{self.port}"], cwd=self.folder, env=self.environment,
            stdout=self.log, stderr=subprocess.STDOUT)
        client = Client(self.port, "")
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                raise SystemExit(f"{self.backend}: coffer exited with {self.process.returncode} at start-up; see {self.log.name}")
            try:
                status, _ = client.call("GET", "sys/health", token="")
                if status in (200, 429, 472, 473, 501, 503):
                    break
            except (Refused, InDoubt):
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"{self.backend}: coffer did not serve within a minute")
            time.sleep(0.1)
        if self.dev:
            self.root = open(os.path.join(self.folder, "coffer-data", "dev-root-token")).read().strip()
        else:
            if self.unseal_key is None:
                status, keys = client.call("PUT", "sys/init", {"unseal_method": "keyfile"}, token="")
                assert status == 200, keys
                self.unseal_key, self.root = keys["keys_base64"][0], keys["root_token"]
            if unseal:
                status, answer = client.call("PUT", "sys/unseal", {"key": self.unseal_key}, token="")
                assert status == 200 and not answer.get("sealed"), answer
        return Client(self.port, self.root)

    def died_by_sigkill(self, timeout: float = 30) -> bool:
        """Whether the process ended by SIGKILL (a failpoint's crash) within `timeout` seconds."""
        try:
            return self.process.wait(timeout=timeout) == -signal.SIGKILL
        except subprocess.TimeoutExpired:
            return False

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self, close_log: bool = True):
        """Stops the process (SIGTERM, then SIGKILL after 20 s); keeps the log open for a restart when asked."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if close_log:
            self.log.close()


class Checks:
    """The `ok` / `FAIL` lines of a test script: `check(condition, what, detail)` prints one and remembers a
    failure; `finish(name, summary)` prints the verdict and exits 1 if anything failed."""

    def __init__(self):
        self.failures = []

    def __call__(self, condition: bool, what: str, detail="") -> bool:
        print(("ok   " if condition else "FAIL ") + what + ("" if condition else f"\n     {str(detail)[:800]}"), flush=True)
        if not condition:
            self.failures.append(what)
        return condition

    def finish(self, name: str, summary: str):
        if self.failures:
            print(f"{name}: {len(self.failures)} failed: {', '.join(self.failures)}")
            raise SystemExit(1)
        print(f"{name}: {summary}")
