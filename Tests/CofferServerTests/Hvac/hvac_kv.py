"""Vault-client compatibility of the credentials store: KV version 2 and response wrapping through hvac
(PyPI), used as its users use it.

Run by HvacCompatibilityTests against a `coffer serve --dev`: COFFER_ADDR and COFFER_ROOT_TOKEN in the
environment. Exits non-zero (with the failing line) on any mismatch.
"""
import os

import hvac
import hvac.exceptions

addr = os.environ["COFFER_ADDR"]
root = hvac.Client(url=addr, token=os.environ["COFFER_ROOT_TOKEN"])
kv = root.secrets.kv.v2


def expect_raises(kind, call):
    try:
        call()
    except kind as error:
        return error
    raise AssertionError(f"expected {kind.__name__}")


# Write, read, versions.
first = kv.create_or_update_secret(path="app/db", secret={"username": "app", "password": "s3cret-1"})
assert first["data"]["version"] == 1 and first["data"]["destroyed"] is False and first["data"]["deletion_time"] == ""
second = kv.create_or_update_secret(path="app/db", secret={"username": "app", "password": "s3cret-2", "port": 5432})
assert second["data"]["version"] == 2
read = kv.read_secret_version(path="app/db", raise_on_deleted_version=True)
assert read["data"]["data"] == {"username": "app", "password": "s3cret-2", "port": 5432}, read
assert read["data"]["metadata"]["version"] == 2
assert kv.read_secret_version(path="app/db", version=1, raise_on_deleted_version=True)["data"]["data"]["password"] == "s3cret-1"
expect_raises(hvac.exceptions.InvalidPath, lambda: kv.read_secret_version(path="app/missing", raise_on_deleted_version=True))
expect_raises(hvac.exceptions.InvalidPath, lambda: kv.read_secret_version(path="app/db", version=9, raise_on_deleted_version=True))

# Check-and-set: a stale cas is refused with Vault's message; the right one writes.
error = expect_raises(hvac.exceptions.InvalidRequest, lambda: kv.create_or_update_secret(path="app/db", secret={"a": "b"}, cas=1))
assert "check-and-set parameter did not match the current version" in str(error), str(error)
assert kv.create_or_update_secret(path="app/db", secret={"username": "app", "password": "s3cret-3"}, cas=2)["data"]["version"] == 3
expect_raises(hvac.exceptions.InvalidRequest, lambda: kv.create_or_update_secret(path="app/new", secret={"a": "b"}, cas=1))
assert kv.create_or_update_secret(path="app/new", secret={"a": "b"}, cas=0)["data"]["version"] == 1

# Patch (hvac reads, merges and writes with cas), and the server's own merge patch.
patched = kv.patch(path="app/db", secret={"password": "s3cret-4"})
assert patched["data"]["version"] == 4
assert kv.read_secret_version(path="app/db", raise_on_deleted_version=True)["data"]["data"] == {"username": "app", "password": "s3cret-4"}
response = root.adapter.request("PATCH", "/v1/secret/data/app/db", json={"data": {"extra": "x", "username": None}},
                              headers={"Content-Type": "application/merge-patch+json"})
assert response["data"]["version"] == 5, response
assert kv.read_secret_version(path="app/db", raise_on_deleted_version=True)["data"]["data"] == {"password": "s3cret-4", "extra": "x"}

# Soft delete, the 404 that still carries metadata, undelete, destroy.
kv.delete_latest_version_of_secret(path="app/db")
deleted = kv.read_secret_version(path="app/db", raise_on_deleted_version=False)
assert deleted["data"]["data"] is None and deleted["data"]["metadata"]["deletion_time"] != "", deleted
expect_raises(hvac.exceptions.InvalidPath, lambda: kv.read_secret_version(path="app/db", raise_on_deleted_version=True))
kv.undelete_secret_versions(path="app/db", versions=[5])
assert kv.read_secret_version(path="app/db", raise_on_deleted_version=True)["data"]["data"]["extra"] == "x"
kv.delete_secret_versions(path="app/db", versions=[1])
kv.destroy_secret_versions(path="app/db", versions=[2])
kv.undelete_secret_versions(path="app/db", versions=[2])  # a destroyed version stays destroyed
expect_raises(hvac.exceptions.InvalidPath, lambda: kv.read_secret_version(path="app/db", version=2, raise_on_deleted_version=True))

# Metadata: versions, custom metadata, max_versions; list (LIST verb) with folders.
kv.update_metadata(path="app/db", max_versions=4, custom_metadata={"owner": "billing"})
metadata = kv.read_secret_metadata(path="app/db")["data"]
assert metadata["current_version"] == 5 and metadata["max_versions"] == 4 and metadata["custom_metadata"] == {"owner": "billing"}
assert sorted(metadata["versions"]) == ["2", "3", "4", "5"] and metadata["oldest_version"] == 2, metadata
assert metadata["versions"]["2"]["destroyed"] is True and metadata["versions"]["5"]["deletion_time"] == ""
assert kv.read_secret_version(path="app/db", raise_on_deleted_version=True)["data"]["metadata"]["custom_metadata"] == {"owner": "billing"}
kv.create_or_update_secret(path="app/team/api-key", secret={"key": "k"})
assert kv.list_secrets(path="app")["data"]["keys"] == ["db", "new", "team/"]
assert kv.list_secrets(path="")["data"]["keys"] == ["app/"]
expect_raises(hvac.exceptions.InvalidPath, lambda: kv.list_secrets(path="nothing-here"))
strict = hvac.Client(url=addr, token=root.token, strict_http=True)
assert strict.secrets.kv.v2.list_secrets(path="app")["data"]["keys"] == ["db", "new", "team/"]
kv.delete_metadata_and_all_versions(path="app/new")
expect_raises(hvac.exceptions.InvalidPath, lambda: kv.read_secret_metadata(path="app/new"))

# Engine configuration.
kv.configure(max_versions=20, cas_required=False, delete_version_after="0s")
assert kv.read_configuration()["data"] == {"max_versions": 20, "cas_required": False, "delete_version_after": "0s"}

# Response wrapping: a wrapped read, one unwrap, a second one refused.
wrapped = root.read("secret/data/app/db", wrap_ttl="60s")
token = wrapped["wrap_info"]["token"]
assert wrapped["data"] is None and wrapped["wrap_info"]["creation_path"] == "secret/data/app/db"
assert root.adapter.post("/v1/sys/wrapping/lookup", json={"token": token})["data"]["creation_path"] == "secret/data/app/db"
unwrapped = root.sys.unwrap(token)
assert unwrapped["data"]["data"]["password"] == "s3cret-4", unwrapped
error = expect_raises(hvac.exceptions.InvalidRequest, lambda: root.sys.unwrap(token))
assert "wrapping token is not valid or does not exist" in str(error)
# Unwrapping with the wrapping token itself as the client token (hvac's sys.unwrap() without an argument).
wrapped = root.read("secret/data/app/db", wrap_ttl=60)
assert hvac.Client(url=addr, token=wrapped["wrap_info"]["token"]).sys.unwrap()["data"]["data"]["extra"] == "x"

# A token whose policy allows only secret/data/app/* is forbidden elsewhere.
root.sys.create_or_update_acl_policy(name="app-only", policy='path "secret/data/app/*" { capabilities = ["read"] }')
service = hvac.Client(url=addr, token=root.auth.token.create(policies=["app-only"], ttl="10m")["auth"]["client_token"])
assert service.secrets.kv.v2.read_secret_version(path="app/db", raise_on_deleted_version=True)["data"]["data"]["extra"] == "x"
root.secrets.kv.v2.create_or_update_secret(path="other/db", secret={"password": "elsewhere"})
expect_raises(hvac.exceptions.Forbidden, lambda: service.secrets.kv.v2.read_secret_version(path="other/db", raise_on_deleted_version=True))
expect_raises(hvac.exceptions.Forbidden, lambda: service.secrets.kv.v2.create_or_update_secret(path="app/db", secret={"a": "b"}))
expect_raises(hvac.exceptions.Forbidden, lambda: service.secrets.kv.v2.read_secret_metadata(path="app/db"))

# More engines through sys/mounts.
root.sys.enable_secrets_engine(backend_type="kv", path="team-kv", options={"version": "2"}, description="team store")
assert "team-kv/" in root.sys.list_mounted_secrets_engines()["data"]
kv.create_or_update_secret(path="x", secret={"v": "1"}, mount_point="team-kv")
assert kv.read_secret_version(path="x", mount_point="team-kv", raise_on_deleted_version=True)["data"]["data"] == {"v": "1"}
expect_raises(hvac.exceptions.InvalidPath, lambda: kv.read_secret_version(path="x", raise_on_deleted_version=True))
root.sys.disable_secrets_engine(path="team-kv")
expect_raises(hvac.exceptions.InvalidPath, lambda: kv.read_secret_version(path="x", mount_point="team-kv", raise_on_deleted_version=True))

print("hvac kv v2 and wrapping work unchanged")
