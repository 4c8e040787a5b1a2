"""Vault-client compatibility of the Gate: tokens, policies and AppRole through hvac (PyPI), unchanged.

Run by HvacCompatibilityTests against a `coffer serve --dev`: COFFER_ADDR and COFFER_ROOT_TOKEN in the
environment. Exits non-zero (with the failing line) on any mismatch.
"""
import os
import sys

import hvac
import hvac.exceptions

addr = os.environ["COFFER_ADDR"]
root = hvac.Client(url=addr, token=os.environ["COFFER_ROOT_TOKEN"])


def expect_raises(kind, call):
    try:
        call()
    except kind as error:
        return error
    raise AssertionError(f"expected {kind.__name__}")


assert root.is_authenticated()
assert root.sys.is_initialized() and not root.sys.is_sealed()

# Policies: HCL text and a dict (hvac json.dumps it); list, read back exactly, refuse a bad one with its place.
reader = 'path "sys/key-status" {\n  capabilities = ["read"]\n}\n'
root.sys.create_or_update_acl_policy(name="app-reader", policy=reader)
root.sys.create_or_update_acl_policy(name="dict-policy", policy={"path": {"sys/key-status": {"capabilities": ["read"]}}})
assert {"app-reader", "default", "dict-policy", "root"} <= set(root.sys.list_acl_policies()["data"]["keys"])
assert root.sys.read_acl_policy("app-reader")["data"] == {"name": "app-reader", "policy": reader}
error = expect_raises(hvac.exceptions.InvalidRequest,
                      lambda: root.sys.create_or_update_acl_policy(name="bad", policy='path "x" {\n  capabilities = ["fly"]\n}'))
assert "fly" in str(error) and "2:" in str(error), str(error)
expect_raises(hvac.exceptions.InvalidPath, lambda: root.sys.read_acl_policy("bad"))
root.sys.delete_acl_policy("dict-policy")
expect_raises(hvac.exceptions.InvalidRequest, lambda: root.sys.delete_acl_policy("root"))

# Tokens: create, look up (self, by token, by accessor), renew, forbidden elsewhere, revoke.
created = root.auth.token.create(policies=["app-reader"], ttl="1h", display_name="svc", meta={"team": "billing"})
token, accessor = created["auth"]["client_token"], created["auth"]["accessor"]
assert sorted(created["auth"]["policies"]) == ["app-reader", "default"]
service = hvac.Client(url=addr, token=token)
assert service.is_authenticated()
me = service.auth.token.lookup_self()["data"]
assert me["accessor"] == accessor and me["display_name"] == "token-svc" and 3500 < me["ttl"] <= 3600 and me["meta"] == {"team": "billing"}
assert root.auth.token.lookup(token)["data"]["accessor"] == accessor
assert root.auth.token.lookup_accessor(accessor)["data"]["policies"] == ["app-reader", "default"]
renewed = service.auth.token.renew_self(increment="30m")
assert 1700 < renewed["auth"]["lease_duration"] <= 1800
assert service.read("sys/key-status")["term"] >= 1
expect_raises(hvac.exceptions.Forbidden, lambda: service.sys.list_acl_policies())
root.auth.token.revoke(token)
assert not service.is_authenticated()
assert not hvac.Client(url=addr, token="cfs.not-a-token").is_authenticated()
limited = root.auth.token.create(policies=["app-reader"], num_uses=1)["auth"]["client_token"]
assert hvac.Client(url=addr, token=limited).read("sys/key-status")["term"] >= 1
expect_raises(hvac.exceptions.Forbidden, lambda: hvac.Client(url=addr, token=limited).read("sys/key-status"))

# AppRole: a role, its role ID, a single-use secret ID, login, then the secret ID is spent.
root.auth.approle.create_or_update_approle(role_name="billing", token_policies=["app-reader"], token_ttl="10m",
                                           token_max_ttl="1h", secret_id_num_uses=1, secret_id_ttl="1h")
assert root.auth.approle.read_role("billing")["data"]["token_policies"] == ["app-reader"]
role_id = root.auth.approle.read_role_id("billing")["data"]["role_id"]
secret = root.auth.approle.generate_secret_id("billing", metadata={"host": "web-1"})["data"]
assert secret["secret_id_num_uses"] == 1
assert root.auth.approle.read_secret_id("billing", secret["secret_id"])["data"]["metadata"] == {"host": "web-1"}
machine = hvac.Client(url=addr)
login = machine.auth.approle.login(role_id=role_id, secret_id=secret["secret_id"])
assert machine.is_authenticated() and login["auth"]["metadata"]["role_name"] == "billing"
assert 590 < login["auth"]["lease_duration"] <= 600
assert machine.read("sys/key-status")["term"] >= 1
expect_raises(hvac.exceptions.InvalidRequest, lambda: hvac.Client(url=addr).auth.approle.login(role_id=role_id, secret_id=secret["secret_id"]))
assert "billing" in root.auth.approle.list_roles()["data"]["keys"]
machine.auth.token.revoke_self()
assert not machine.is_authenticated()
root.auth.approle.delete_role("billing")

print("hvac: tokens, policies and AppRole work unchanged")
