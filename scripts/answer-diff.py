#!/usr/bin/env python3
"""Answers of two coffer binaries compared byte for byte: the same requests against `coffer serve --dev` from
each (a fresh SQLite folder apiece), times, ids, tokens and accessors masked, then a diff. For a change that
must not alter what clients see (an answer type redrawn, an encoder changed).

    scripts/answer-diff.py OLD_BINARY NEW_BINARY     (PGURL=postgres://… adds the database engine's routes)
"""
import atexit, hashlib, json, os, re, subprocess, sys, tempfile, time, urllib.error, urllib.parse, urllib.request


def probe(binary, port, out):
    work = tempfile.mkdtemp()
    proc = subprocess.Popen([binary, "serve", "--dev", "--listen", f"127.0.0.1:{port}"], cwd=work,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    atexit.register(proc.kill)  # also when a step fails
    base = f"http://127.0.0.1:{port}/v1/"
    # Development mode initialises and unseals from its key file: ready once sys/health answers 200.
    for _ in range(600):
        try:
            urllib.request.urlopen(base + "sys/health")
            break
        except Exception:
            time.sleep(0.1)
    token = open(os.path.join(work, "coffer-data/dev-root-token")).read().strip()
    lines = []
    accessor = None
    def call(method, path, body=None, headers=None, raw=None):
        h = {"X-Vault-Token": token}
        h.update(headers or {})
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        if data is not None and raw is None: h["Content-Type"] = "application/json"
        req = urllib.request.Request(base + path, data=data, method=method, headers=h)
        try:
            r = urllib.request.urlopen(req); status, text = r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read().decode()
        raw_text = text
        text = re.sub(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z', 'TIME', text)
        text = re.sub(r'"request_id":"[^"]*"', '"request_id":"ID"', text)
        text = re.sub(r'"(run_id|lease_id|id|username|password|unfinished_run|secret_id|secret_id_accessor)":"[^"]+"', r'"\1":"X"', text)
        text = re.sub(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)', 'TIME', text)
        text = re.sub(r'"(duration_ms|latency_ms|run_id)":[0-9.]+', r'"\1":N', text)
        if accessor: text = text.replace(accessor, "ACCESSOR")
        lines.append(f"{method} {path} -> {status} {text}")
        return raw_text
    accessor = json.loads(urllib.request.urlopen(urllib.request.Request(base + "auth/token/lookup-self", headers={"X-Vault-Token": token})).read())["data"]["accessor"]
    artifact = b"model-bytes" * 100
    digest = hashlib.sha256(artifact).hexdigest()
    meta = json.dumps({"version_label": "1.0.0", "model_type": "clf", "parameters": {"d": 3}, "training_metrics": {"acc": 0.9},
                       "validation_metrics": {"f1": 0.7}, "tags": {"team": "risk"}, "artifact_digest": "sha256:" + digest, "description": "d"})
    call("POST", "coffer/models/fraud/versions", raw=artifact, headers={"X-Coffer-Model": meta, "Content-Type": "application/octet-stream"})
    call("POST", "coffer/models/fraud/versions", raw=artifact, headers={"X-Coffer-Model": json.dumps({"if_new_digest": True}), "Content-Type": "application/octet-stream"})
    call("POST", "coffer/models/fraud/versions", raw=b"other", headers={"X-Coffer-Model": json.dumps({"version_label": "2.0.0"}), "Content-Type": "application/octet-stream"})
    call("POST", "coffer/models/fraud/versions/1/status", {"status": "staged", "note": "n"})
    call("PUT", "coffer/models/fraud/aliases/champion", {"version": 1})
    call("PUT", "coffer/models/fraud/aliases/champion", {"version": 2})
    call("GET", "coffer/models/fraud")
    call("LIST", "coffer/models/fraud/versions")
    call("GET", "coffer/models/fraud/versions/1")
    call("GET", "coffer/models/fraud/aliases/champion")
    call("GET", "coffer/models/fraud/history")
    call("GET", "coffer/models/_search?name=fraud")
    call("GET", "coffer/models/_report")
    call("POST", "coffer/errors/events", {"events": [
      {"component": "api", "severity": "error", "message": "boom", "error_type": "ValueError", "stack_trace": "File a.py, line 1", "context": {"k": 1}, "release": "1.0", "host": "h"},
      {"component": "api", "severity": "critical", "message": "boom2", "error_type": "KeyError", "time": "2026-12-01T00:00:00Z"}]})
    call("GET", "coffer/errors/issues")
    call("GET", "coffer/errors/issues/1")
    call("POST", "coffer/errors/issues/1/resolve", {"in_release": "1.1", "note": "fixed"})
    call("POST", "coffer/errors/issues/2/ignore", {"count": 5})
    call("POST", "coffer/errors/issues/1/reopen", {})
    call("GET", "coffer/errors/issues/1")
    call("GET", "coffer/errors/stats")
    call("PUT", "coffer/features/sets/prices", {"value_type": "number", "ttl": "1h", "retention": "720h", "features": ["price", "volume"], "description": "p"})
    call("GET", "coffer/features/sets/prices")
    call("POST", "coffer/features/values/prices", {"rows": [{"entity": "BTC", "feature": "price", "value": 101.5, "event_time": "2026-12-05T00:00:00Z"},
      {"entity": "BTC", "feature": "volume", "value": None}, {"entity": "ETH", "feature": "price", "value": 3.5, "event_time": "2020-01-01T00:00:00Z"}]})
    call("POST", "coffer/features/read/prices", {"entities": ["BTC", "ETH", "XRP"], "features": ["price", "volume"]})
    call("GET", "coffer/features/values/prices?entities=BTC,ETH&features=price")
    call("GET", "coffer/features/history/prices/BTC/price?from=2026-01-01T00:00:00Z")
    call("GET", "coffer/features/stats/prices")
    call("PUT", "coffer/cache/entries/ns/k1", {"value": "hello", "ttl": "10m"})
    call("PUT", "coffer/cache/entries/ns/k2", {"value": "forever"})
    call("GET", "coffer/cache/entries/ns/k1")
    call("GET", "coffer/cache/entries/ns/k2")
    call("GET", "coffer/cache/entries/ns/nope")
    call("GET", "coffer/cache/stats/ns")
    hour = int(time.time() // 3600 * 3600 - 3600)
    call("POST", "coffer/metrics/points", {"points": [{"name": "cpu", "labels": {"host": "a"}, "value": 1.5, "timestamp": hour},
      {"name": "cpu", "labels": {"host": "b"}, "value": 2.5, "timestamp": hour + 30}]})
    call("GET", f"coffer/metrics/query?name=cpu&fn=avg&from={hour - 60}&to={hour + 120}&step=60&by=host")
    call("GET", f"coffer/metrics/query?name=cpu&fn=max&from={hour - 60}&to={hour + 120}&step=60")
    call("GET", "coffer/metrics/series?name=cpu")
    call("GET", "coffer/metrics/retention/cpu")
    call("PUT", "coffer/metrics/retention/cpu", {"raw": "24h", "minute": "720h", "hour": "9600h", "max_series": 10})
    call("GET", "coffer/metrics/retention/cpu")
    call("PUT", "coffer/health/checks", raw=json.dumps({"checks": [{"name": "closed", "component": "db", "type": "tcp", "host": "127.0.0.1", "port": 1, "interval": 1, "timeout": 1, "fail_after": 1}]}).encode(), headers={"Content-Type": "application/json"})
    call("PUT", "coffer/health/alerts/rules", raw=json.dumps({"rules": [{"name": "burst", "type": "error_burst", "component": "api", "count": 1, "window": "5m", "sinks": [{"type": "log"}]}]}).encode(), headers={"Content-Type": "application/json"})
    call("POST", "coffer/errors/events", {"events": [{"component": "api", "severity": "error", "message": "again"}]})
    time.sleep(4)
    call("GET", "coffer/health")
    call("GET", "coffer/health/report")
    r = call("GET", "coffer/health/checks/closed/results?limit=1")
    call("GET", "coffer/health/alerts")
    call("GET", "coffer/health/alerts/history")
    call("POST", "secret/data/app/api", {"data": {"value": "x"}})
    call("POST", "secret/metadata/app/api", {"rotation_kind": "random", "rotation_interval": "720h", "rotation_settings": {"length": 16}})
    call("GET", "coffer/rotation/status")
    call("POST", "coffer/rotation/run", {"dry_run": True, "secret": "secret/app/api"})
    call("POST", "coffer/rotation/rotate/secret/app/api", {})
    call("GET", "coffer/rotation/status")
    pg = os.environ.get("PGURL")
    if pg:
        u = urllib.parse.urlparse(pg)
        tmpl = f"postgresql://{{{{username}}}}:{{{{password}}}}@{u.hostname}:{u.port}{u.path}"
        call("POST", "database/config/pg", {"plugin_name": "postgresql-database-plugin", "connection_url": tmpl, "username": u.username, "password": u.password or "unused-under-trust", "allowed_roles": ["app"]})
        call("GET", "database/config/pg")
        call("POST", "database/roles/app", {"db_name": "pg", "creation_statements": ["CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}'"], "default_ttl": "1h", "max_ttl": "24h"})
        call("GET", "database/roles/app")
        creds = json.loads(call("GET", "database/creds/app"))
        call("PUT", "sys/leases/lookup", {"lease_id": creds.get("lease_id", "")})
        call("PUT", "sys/leases/revoke", {"lease_id": creds.get("lease_id", "")})
    call("POST", "secret/metadata/app/api", {"custom_metadata": {"owner": "team"}, "max_versions": 5, "delete_version_after": "48h"})
    call("POST", "secret/data/app/api", {"data": {"value": "y"}})
    call("POST", "secret/delete/app/api", {"versions": [1]})
    call("POST", "secret/destroy/app/api", {"versions": [2]})
    call("GET", "secret/metadata/app/api")
    call("GET", "secret/data/app/api?version=1")
    call("GET", "secret/subkeys/app/api")
    call("GET", "secret/config")
    call("POST", "secret/data/plain", {"data": {"a": 1}})
    call("GET", "secret/metadata/plain")
    call("POST", "auth/token/roles/ci", {"allowed_policies": ["default"], "disallowed_policies": ["root"], "orphan": True, "period": "1h", "path_suffix": "x"})
    call("GET", "auth/token/roles/ci")
    call("POST", "sys/auth/approle", {"type": "approle"})
    call("POST", "auth/approle/role/app", {"token_policies": ["default"], "token_ttl": "1h", "secret_id_ttl": "10m", "secret_id_num_uses": 3, "secret_id_bound_cidrs": ["127.0.0.1/32"]})
    call("GET", "auth/approle/role/app")
    call("POST", "auth/approle/role/plain", {"token_policies": ["default"]})
    call("GET", "auth/approle/role/plain")
    sid = json.loads(call("POST", "auth/approle/role/app/secret-id", {"metadata": "{\"k\":\"v\"}"}))
    call("POST", "auth/approle/role/app/secret-id/lookup", {"secret_id": sid["data"]["secret_id"]})
    call("POST", "auth/approle/role/app/secret-id-accessor/lookup", {"secret_id_accessor": sid["data"]["secret_id_accessor"]})
    sid2 = json.loads(call("POST", "auth/approle/role/plain/secret-id", {}))
    call("POST", "auth/approle/role/plain/secret-id/lookup", {"secret_id": sid2["data"]["secret_id"]})

    proc.terminate(); proc.wait()
    open(out, "w").write("\n".join(lines) + "\n")


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    old, new = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    folder = tempfile.mkdtemp(prefix="answer-diff-")
    probe(old, free_port(), os.path.join(folder, "old.txt"))
    probe(new, free_port(), os.path.join(folder, "new.txt"))
    result = subprocess.run(["diff", os.path.join(folder, "old.txt"), os.path.join(folder, "new.txt")])
    count = sum(1 for _ in open(os.path.join(folder, "new.txt")))
    print(f"{count} answers {'identical' if result.returncode == 0 else 'differ (above)'}; both in {folder}")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
