#!/usr/bin/env python3
"""Writes the upgrade fixture: a database written by an older `coffer` binary, for UpgradeInPlaceTests.

    python3 scripts/upgrade-fixture.py OLD_COFFER_BINARY OUT_FOLDER POSTGRES_URL

Runs the older release's `coffer serve` twice (on SQLite, then on a fresh database of the PostgreSQL server),
initialises it with a key file, and writes through every path that stores a security-relevant row: policies,
tokens (with uses), token roles, AppRole roles and a custom secret ID, KV mounts and secrets (versions, a
deleted version, custom metadata, rotation settings), the database engine (a connection, a role, a dynamic
credential and its lease), a wrapped response. It writes OUT_FOLDER/coffer.db (SQLite), OUT_FOLDER/postgres.sql
(`pg_dump --inserts` of the PostgreSQL database) and OUT_FOLDER/fixture.json: the key, tokens and values the test
expects. These are test keys for a test database, committed on purpose; nothing else uses them.
"""
import base64, json, os, shutil, socket, subprocess, sys, tempfile, time, urllib.error, urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, binary, folder, database_url, key_file=None):
        self.port = free_port()
        args = [binary, "serve", "--listen", f"127.0.0.1:{self.port}"]
        if key_file:
            args += ["--unseal-key-file", key_file]
        env = {"PATH": os.environ["PATH"], "HOME": folder, "COFFER_DATABASE_URL": database_url}
        self.log = open(os.path.join(folder, "serve.log"), "a")
        self.process = subprocess.Popen(args, cwd=folder, env=env, stdout=self.log, stderr=self.log)
        for _ in range(200):
            try:
                self.call("GET", "/v1/sys/health")
                return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        raise SystemExit("the older coffer did not start; see serve.log")

    def call(self, method, path, token=None, body=None, headers=None, ok=(200, 204, 429, 472, 473, 501, 503)):
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", method=method,
                                         data=None if body is None else json.dumps(body).encode())
        if token:
            request.add_header("X-Vault-Token", token)
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request) as response:
                text = response.read().decode()
                return json.loads(text) if text else {}
        except urllib.error.HTTPError as error:
            if error.code in ok:
                text = error.read().decode()
                return json.loads(text) if text else {}
            raise SystemExit(f"{method} {path}: {error.code} {error.read().decode()}")

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)


def populate(binary, folder, database_url, postgres_url):
    server = Server(binary, folder, database_url)
    init = server.call("PUT", "/v1/sys/init", body={"unseal_method": "keyfile"})
    key, root = init["keys_base64"][0], init["root_token"]
    server.stop()
    key_file = os.path.join(folder, "unseal.key")
    with open(key_file, "w") as f:
        f.write(key)
    server = Server(binary, folder, database_url, key_file)
    call = lambda method, path, body=None, **kw: server.call(method, path, token=kw.pop("token", root), body=body, **kw)
    call("PUT", "/v1/sys/policies/acl/app-read", {"policy": 'path "secret/data/app/*" { capabilities = ["read"] }'})
    for version in (1, 2, 3):
        call("POST", "/v1/secret/data/app/db", {"data": {"password": f"db-password-v{version}"}})
    call("POST", "/v1/secret/metadata/app/db", {"max_versions": 5, "custom_metadata": {"owner": "payments"}})
    call("POST", "/v1/secret/data/app/old", {"data": {"value": "old-v1"}})
    call("POST", "/v1/secret/data/app/old", {"data": {"value": "old-v2"}})
    call("POST", "/v1/secret/delete/app/old", {"versions": [1]})
    call("POST", "/v1/secret/metadata/app/rotated", {"rotation_kind": "random", "rotation_interval": "24h"})
    call("POST", "/v1/secret/data/app/rotated", {"data": {"value": "rotated-v1"}})
    call("POST", "/v1/sys/mounts/team", {"type": "kv", "options": {"version": "2"}})
    call("POST", "/v1/team/data/shared", {"data": {"note": "team-note"}})
    reader = call("POST", "/v1/auth/token/create", {"policies": ["app-read"], "num_uses": 5, "display_name": "reader"})["auth"]
    call("POST", "/v1/auth/token/roles/ci", {"allowed_policies": ["app-read"]})
    call("POST", "/v1/auth/approle/role/svc", {"token_policies": ["app-read"], "secret_id_num_uses": 0})
    role_id = call("GET", "/v1/auth/approle/role/svc/role-id")["data"]["role_id"]
    secret_id = "fixture-secret-id-" + base64.b32encode(os.urandom(10)).decode().lower()
    call("POST", "/v1/auth/approle/role/svc/custom-secret-id", {"secret_id": secret_id})
    templated = postgres_url.replace("postgres://coffer@", "postgresql://{{username}}:{{password}}@")
    call("POST", "/v1/database/config/pg", {"plugin_name": "postgresql-database-plugin", "connection_url": templated,
                                            "username": "coffer", "password": "fixture-admin-password", "allowed_roles": "*"})
    call("POST", "/v1/database/roles/dyn", {"db_name": "pg", "default_ttl": "1h", "creation_statements": [
        "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';"]})
    lease = call("GET", "/v1/database/creds/dyn")["lease_id"]
    wrapped = call("GET", "/v1/secret/data/app/db", headers={"X-Vault-Wrap-TTL": "768h"})["wrap_info"]["token"]
    server.stop()
    return {"key": key, "root_token": root, "reader_token": reader["client_token"], "reader_accessor": reader["accessor"],
            "role_id": role_id, "secret_id": secret_id, "lease_id": lease, "wrapping_token": wrapped}


def main():
    binary, out, postgres_url = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2]), sys.argv[3]
    os.makedirs(out, exist_ok=True)
    version = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    fixture = {"written_by": sys.argv[4] if len(sys.argv) > 4 else version, "written_at_us": int(time.time() * 1_000_000)}
    with tempfile.TemporaryDirectory() as folder:
        fixture["sqlite"] = populate(binary, folder, "sqlite:./coffer.db", postgres_url)
        shutil.copy(os.path.join(folder, "coffer.db"), os.path.join(out, "coffer.db"))
    name = "coffer_upgrade_fixture"
    admin = postgres_url.rsplit("/", 1)[0]
    subprocess.run(["psql", postgres_url, "-qc", f"DROP DATABASE IF EXISTS {name}"], check=True)
    subprocess.run(["psql", postgres_url, "-qc", f"CREATE DATABASE {name}"], check=True)
    with tempfile.TemporaryDirectory() as folder:
        fixture["postgres"] = populate(binary, folder, f"{admin}/{name}", postgres_url)
    dump = subprocess.run(["pg_dump", "--inserts", "--no-owner", "--no-privileges", "--no-comments", f"{admin}/{name}"],
                          check=True, capture_output=True, text=True).stdout
    # Only statements: psql meta-commands (\restrict in newer pg_dump) and settings the test server may lack are dropped.
    lines = [line for line in dump.splitlines() if not line.startswith("\\") and not line.startswith("SET transaction_timeout")]
    with open(os.path.join(out, "postgres.sql"), "w") as f:
        f.write("\n".join(lines) + "\n")
    subprocess.run(["psql", postgres_url, "-qc", f"DROP DATABASE {name}"], check=True)
    with open(os.path.join(out, "fixture.json"), "w") as f:
        json.dump(fixture, f, indent=2, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
