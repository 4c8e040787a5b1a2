"""The failpoint half of make crash-test: SIGKILL inside key rotation, rewrap, rekey and lease work, at the instant
that matters, rather than wherever a random kill happens to land.

Each scenario restarts the service with COFFER_FAILPOINTS=<point>=crash (the service kills itself with SIGKILL
when it reaches the point; Docs/RELIABILITY.md lists them), drives the operation until the process dies, restarts
it without the failpoint and checks what must hold:

- keys.rotate.added: the new term was stored; after restart it is the active term and every secret reads back.
- keys.rewrap.record: a batch was cut after its first record; every secret reads back, and rewrap finishes.
- keys.rewrap.retire: the records moved, the old terms not yet retired; rewrap retires them, every secret reads.
- keys.rekey.transaction: the new keys were written but not committed: only the old key unseals.
- keys.rekey.committed: committed, no answer given: only the new key unseals, and every secret reads back.
- leases.create.recorded: a lease recorded before its role exists: no role on the target; revoking it succeeds.
- leases.create.role: role and lease both exist (the client never saw them); revoking drops the role.
- leases.revoke.dropped: the role was dropped, the lease not deleted; revoking again finds no role and deletes it.
- the reaper through leases.revoke.dropped: an expired lease whose reaping was cut is reaped once after restart.

The service runs sealed-at-start (initialised with a key file) on both backends, so a rekey can be checked.
"""

import os
import shutil
import subprocess
import tempfile
import time

from live_service import InDoubt, Refused, Service

SECRETS = 6


class Scenario:
    """One service in one folder (and database), restarted with and without a failpoint."""

    def __init__(self, binary: str, backend: str, environment: dict, target: str):
        self.backend, self.target = backend, target
        self.folder = tempfile.mkdtemp(prefix=f"coffer-failpoints-{backend}-")
        self.environment = environment
        self.service = Service(binary, backend, self.folder, environment, dev=False)
        self.client = self.service.start()
        self.values = {}
        # Dynamic roles on the test PostgreSQL, one role name per backend so their counts never mix.
        self.role = f"fp{backend}"[:8]

    def crash_at(self, point: str, action, *, unseal: bool = True):
        """Restarts with `point` armed, runs `action(client)`, and requires the process to die by SIGKILL there."""
        self.service.stop(close_log=False)
        self.service.environment = dict(self.environment, COFFER_FAILPOINTS=f"{point}=crash")
        client = self.service.start()
        try:
            action(client)
        except (Refused, InDoubt):
            pass
        assert self.service.died_by_sigkill(), f"{self.backend}: the service did not die at {point}"
        self.service.environment = self.environment
        self.client = self.service.start(unseal=unseal)
        return self.client

    def write_secrets(self, tag: str):
        for index in range(SECRETS):
            key, value = f"fp/{index}", f"{tag}-{index}"
            status, answer = self.client.call("POST", f"secret/data/{key}", {"data": {"v": value}})
            assert status == 200, f"{self.backend}: write {key}: {status} {answer}"
            self.values[key] = value

    def require_secrets(self, where: str):
        for key, value in self.values.items():
            status, answer = self.client.call("GET", f"secret/data/{key}")
            assert status == 200 and answer["data"]["data"] == {"v": value}, (
                f"{self.backend}, {where}: {key} reads {status} {answer}")
        status, verify = self.client.call("GET", "sys/audit-trail/verify", timeout=60)
        assert status == 200 and verify["data"]["intact"], f"{self.backend}, {where}: the audit trail does not verify: {verify}"

    def key_status(self) -> dict:
        status, answer = self.client.call("GET", "sys/key-status")
        assert status == 200, answer
        return answer["data"] if "data" in answer else answer

    def rewrap_until_done(self, retire: bool = False) -> dict:
        # Retiring waits for instances that sealed under an older term to be silent for KeyHierarchy's heartbeat
        # window (30 s): the processes this scenario killed are such instances for that long.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            status, answer = self.client.call("POST", "sys/rewrap", {"batch_size": 50, "retire": retire})
            if status == 400 and "not retired" in " ".join(answer.get("errors", [])):
                time.sleep(1)
                continue
            assert status == 200, f"{self.backend}: rewrap answered {status} {answer}"
            progress = answer.get("data", answer)
            if progress["remaining"] == 0 and (not retire or progress["retired_terms"] or self.older_terms_retired()):
                return progress
        raise AssertionError(f"{self.backend}: rewrap did not finish")

    def older_terms_retired(self) -> bool:
        return all(term["status"] in ("active", "retired") for term in self.key_status()["terms"])

    # Keys

    def rotate_added(self):
        self.write_secrets("rotate")
        before = self.key_status()["term"]
        self.crash_at("keys.rotate.added", lambda client: client.call("POST", "sys/rotate"))
        after = self.key_status()["term"]
        assert after == before + 1, f"{self.backend}: active term {after} after a rotation killed once stored (was {before})"
        self.require_secrets("keys.rotate.added")
        self.write_secrets("after-rotate")
        self.require_secrets("a write after keys.rotate.added")

    def rewrap_record(self):
        self.write_secrets("rewrap")
        status, _ = self.client.call("POST", "sys/rotate")
        assert status == 204
        self.crash_at("keys.rewrap.record", lambda client: client.call("POST", "sys/rewrap", {"batch_size": 50}))
        self.require_secrets("keys.rewrap.record")
        progress = self.rewrap_until_done()
        assert progress["remaining"] == 0
        self.require_secrets("a rewrap resumed after keys.rewrap.record")

    def rewrap_retire(self):
        status, _ = self.client.call("POST", "sys/rotate")
        assert status == 204
        self.crash_at("keys.rewrap.retire", lambda client: self.rewrap_for(client, retire=True))
        self.require_secrets("keys.rewrap.retire")
        self.rewrap_until_done(retire=True)
        assert self.older_terms_retired(), f"{self.backend}: older terms not retired: {self.key_status()}"
        self.require_secrets("a retire resumed after keys.rewrap.retire")

    @staticmethod
    def rewrap_for(client, retire: bool):
        for _ in range(100):
            status, _ = client.call("POST", "sys/rewrap", {"batch_size": 50, "retire": retire})
            if status != 200:
                return

    def rekey(self, point: str):
        old = self.service.unseal_key
        new = {}

        def run(client):
            status, started = client.call("PUT", "sys/rekey/init", {"unseal_method": "keyfile", "require_verification": True}, token="")
            assert status == 200, started
            status, handed = client.call("PUT", "sys/rekey/update", {"key": old, "nonce": started["nonce"]}, token="")
            assert status == 200 and handed.get("complete"), handed
            new["key"] = handed["keys_base64"][0]
            client.call("PUT", "sys/rekey/verify", {"key": new["key"], "nonce": handed["verification_nonce"]}, token="")

        self.crash_at(point, run, unseal=False)
        assert "key" in new, f"{self.backend}: the rekey never handed out new keys"
        expected, refused = (old, new["key"]) if point == "keys.rekey.transaction" else (new["key"], old)
        status, answer = self.client.call("PUT", "sys/unseal", {"key": refused}, token="")
        assert status != 200 or answer.get("sealed"), f"{self.backend}: after {point} the {'new' if refused == new['key'] else 'old'} key unsealed"
        self.client.call("PUT", "sys/unseal", {"reset": True}, token="")
        status, answer = self.client.call("PUT", "sys/unseal", {"key": expected}, token="")
        assert status == 200 and not answer.get("sealed"), f"{self.backend}: after {point} the expected key did not unseal: {answer}"
        self.service.unseal_key = expected
        self.require_secrets(point)

    # Leases

    def configure_database(self):
        templated = self.target.replace("postgres://coffer@", "postgresql://{{username}}:{{password}}@")
        status, answer = self.client.call("POST", "database/config/fp", {
            "plugin_name": "postgresql-database-plugin", "allowed_roles": self.role, "connection_url": templated,
            "username": "coffer", "password": "unused-with-trust"})
        assert status in (200, 204), answer
        self.set_role_ttl("1h")

    def set_role_ttl(self, ttl: str):
        creation = ["CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';"]
        status, answer = self.client.call("POST", f"database/roles/{self.role}", {
            "db_name": "fp", "default_ttl": ttl, "max_ttl": "2h", "creation_statements": creation})
        assert status in (200, 204), answer

    def roles_on_target(self) -> int:
        pattern = f"v-%-{self.role}-%"
        out = subprocess.run(["psql", self.target, "-Atc", f"SELECT count(*) FROM pg_roles WHERE rolname LIKE '{pattern}'"],
                             check=True, capture_output=True, text=True).stdout
        return int(out.strip())

    def leases(self) -> list:
        status, answer = self.client.call("LIST", f"sys/leases/lookup/database/creds/{self.role}/")
        if status == 404:
            return []
        assert status == 200, answer
        return [f"database/creds/{self.role}/{key}" for key in answer["data"]["keys"]]

    def require_leases_and_roles(self, leases: int, roles: int, where: str):
        assert len(self.leases()) == leases and self.roles_on_target() == roles, (
            f"{self.backend}, {where}: {len(self.leases())} leases and {self.roles_on_target()} roles, expected {leases} and {roles}")

    def revoke_all(self, where: str):
        for lease in self.leases():
            status, answer = self.client.call("PUT", "sys/leases/revoke", {"lease_id": lease})
            assert status == 204, f"{self.backend}, {where}: revoking {lease} answered {status} {answer}"
        self.require_leases_and_roles(0, 0, f"revoked after {where}")

    def create_recorded(self):
        self.crash_at("leases.create.recorded", lambda client: client.call("GET", f"database/creds/{self.role}"))
        self.require_leases_and_roles(1, 0, "leases.create.recorded")
        self.revoke_all("leases.create.recorded")

    def create_role(self):
        self.crash_at("leases.create.role", lambda client: client.call("GET", f"database/creds/{self.role}"))
        self.require_leases_and_roles(1, 1, "leases.create.role")
        self.revoke_all("leases.create.role")

    def create_in_doubt(self):
        """The target committed the role but Coffer saw an error (a connection lost during COMMIT): the request
        fails, and neither a lease nor the role is left (the failure path revokes, it does not just delete)."""
        self.service.stop(close_log=False)
        self.service.environment = dict(self.environment, COFFER_FAILPOINTS="leases.create.committed=error")
        self.client = self.service.start()
        status, answer = self.client.call("GET", f"database/creds/{self.role}")
        assert status >= 400, f"{self.backend}: an in-doubt creation answered {status} {answer}"
        self.require_leases_and_roles(0, 0, "leases.create.committed (in doubt)")
        self.service.stop(close_log=False)
        self.service.environment = self.environment
        self.client = self.service.start()

    def revoke_dropped(self):
        status, issued = self.client.call("GET", f"database/creds/{self.role}")
        assert status == 200, issued
        self.crash_at("leases.revoke.dropped", lambda client: client.call("PUT", "sys/leases/revoke", {"lease_id": issued["lease_id"]}))
        self.require_leases_and_roles(1, 0, "leases.revoke.dropped")
        self.revoke_all("leases.revoke.dropped")

    def reaper_dropped(self):
        self.set_role_ttl("4s")
        status, issued = self.client.call("GET", f"database/creds/{self.role}")
        assert status == 200, issued
        self.set_role_ttl("1h")
        # The reaper reaches the failpoint on its own once the lease expires: no request drives it.
        self.crash_at("leases.revoke.dropped", lambda client: None)
        deadline = time.monotonic() + 30
        while self.leases() and time.monotonic() < deadline:
            time.sleep(0.5)
        self.require_leases_and_roles(0, 0, "the reaper restarted after leases.revoke.dropped")

    def close(self, passed: bool):
        self.service.stop()
        if passed:
            shutil.rmtree(self.folder, ignore_errors=True)
        else:
            print(f"   coffer's log for the {self.backend} failpoints: {self.service.log.name}", flush=True)


def run(binary: str, backend: str, environment: dict, target: str) -> dict:
    """Every scenario on one backend; `target` is the PostgreSQL the database engine manages roles on (or None)."""
    scenario = Scenario(binary, backend, environment, target)
    passed = False
    crashes = 0
    try:
        steps = [scenario.rotate_added, scenario.rewrap_record, scenario.rewrap_retire,
                 lambda: scenario.rekey("keys.rekey.transaction"), lambda: scenario.rekey("keys.rekey.committed")]
        if target:
            scenario.configure_database()
            steps += [scenario.create_recorded, scenario.create_role, scenario.create_in_doubt, scenario.revoke_dropped,
                      scenario.reaper_dropped]
        for step in steps:
            step()
            crashes += 0 if step == scenario.create_in_doubt else 1  # the in-doubt step injects an error, not a kill
        passed = True
    finally:
        scenario.close(passed)
    return {"failpoint_crashes": crashes}
