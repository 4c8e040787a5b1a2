"""Vault-client compatibility of the database secrets engine and leases through hvac (PyPI), used as its
users use it: dynamic credentials that log in and are refused after revoke, lease lookup and renewal,
static roles with Vault's rotation statements.

Run by HvacCompatibilityTests against a `coffer serve --dev`: COFFER_ADDR, COFFER_ROOT_TOKEN and
COFFER_TEST_POSTGRES_URL (a PostgreSQL whose superuser needs no password and whose other roles log in
with theirs) in the environment. Checks logins with psql. Exits non-zero (with the failing line) on any mismatch.
"""
import os
import secrets
import subprocess

import hvac
import hvac.exceptions

addr = os.environ["COFFER_ADDR"]
target = os.environ["COFFER_TEST_POSTGRES_URL"]
client = hvac.Client(url=addr, token=os.environ["COFFER_ROOT_TOKEN"])
db = client.secrets.database


def psql(user, password, sql="SELECT 1"):
    env = dict(os.environ, PGPASSWORD=password, PGCONNECT_TIMEOUT="5")
    url = target.replace("postgres://coffer@", f"postgres://{user}@")
    return subprocess.run(["psql", url, "-tAc", sql], env=env, capture_output=True, text=True).returncode == 0


def expect_raises(kind, call):
    try:
        call()
    except kind as error:
        return error
    raise AssertionError(f"expected {kind.__name__}")


templated = target.replace("postgres://coffer@", "postgresql://{{username}}:{{password}}@")
db.configure(name="pg", plugin_name="postgresql-database-plugin", allowed_roles=["app", "reporting"],
             connection_url=templated, username="coffer", password="unused-with-trust")
assert db.read_connection(name="pg")["data"]["connection_details"]["username"] == "coffer"
assert "unused-with-trust" not in str(db.read_connection(name="pg")), "the admin password is never answered"
db.create_role(name="app", db_name="pg", default_ttl="1h", max_ttl="2h",
               creation_statements=["CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';"])
assert "app" in db.list_roles()["data"]["keys"]
expect_raises(hvac.exceptions.InvalidRequest, lambda: db.create_role(name="bad", db_name="pg", creation_statements=["CREATE ROLE \"{{user}}\""]))

# Dynamic credentials under a lease: they log in; renew; revoke; refused afterwards.
creds = db.generate_credentials(name="app")
lease_id, user, password = creds["lease_id"], creds["data"]["username"], creds["data"]["password"]
assert lease_id.startswith("database/creds/app/") and creds["lease_duration"] == 3600 and creds["renewable"] is True
assert psql(user, password), "the dynamic credential logs in"
lease = client.sys.read_lease(lease_id=lease_id)
assert lease["data"]["id"] == lease_id and 3500 <= lease["data"]["ttl"] <= 3600
renewed = client.sys.renew_lease(lease_id=lease_id, increment=1800)
assert renewed["lease_id"] == lease_id and 1700 <= renewed["lease_duration"] <= 1800
client.sys.revoke_lease(lease_id=lease_id)
assert not psql(user, password), "refused after revoke"
expect_raises(hvac.exceptions.InvalidRequest, lambda: client.sys.read_lease(lease_id=lease_id))

# A static role with Vault's rotation statements: Coffer knows the password, rotates it on request.
static_user = "hvac_static_" + secrets.token_hex(4)
subprocess.run(["psql", target, "-c", f"CREATE ROLE {static_user} LOGIN PASSWORD 'initial-Pw-1'"], check=True, capture_output=True)
try:
    db.create_static_role(name="reporting", db_name="pg", username=static_user, rotation_period=3600,
                          rotation_statements=["ALTER USER \"{{name}}\" WITH PASSWORD '{{password}}';"])
    first = db.get_static_credentials(name="reporting")["data"]
    assert first["username"] == static_user and first["rotation_period"] == 3600 and psql(static_user, first["password"])
    assert not psql(static_user, "initial-Pw-1")
    db.rotate_static_role_credentials(name="reporting")
    second = db.get_static_credentials(name="reporting")["data"]
    assert second["password"] != first["password"] and psql(static_user, second["password"]) and not psql(static_user, first["password"])
    assert db.read_static_role(name="reporting")["data"]["username"] == static_user
finally:
    subprocess.run(["psql", target, "-c", f"DROP ROLE IF EXISTS {static_user}"], capture_output=True)

print("database engine and leases work unchanged")
