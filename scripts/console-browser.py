#!/usr/bin/env python3
"""The web console in headless Chromium (Debian's chromium and chromium-driver, selenium from PyPI), on SQLite
and on PostgreSQL (when COFFER_TEST_POSTGRES_URL is set, as under `make test`); run by `make test`.

For each backend, with the real `coffer` binary (the leases page needs COFFER_TEST_POSTGRES_URL for a dynamic
credential, so the script needs it on both backends; at the end rows are edited underneath the service, as a
database writer would, and the console must show it): /ui/ sends a stranger to sign-in; signing in with the root
token shows the overview with the built-in health check; the session cookie is HttpOnly and SameSite=Strict
and no page or URL holds the token; the audit trail page lists the sign-in's own lookup-self; sign-out ends
the session. A token whose policy allows only the health pages sees no link to the audit trail and gets a 403
page there. A sign-out or sign-in POST without its CSRF token is refused. Every answer carries the
Content-Security-Policy. The overview is rendered at 1280 and 390 pixels wide; with --screenshots DIR the
pages are saved there (Docs/images holds the ones in the README).
"""

import argparse
import http.client
import os
import shutil
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from live_service import Checks, Service, postgres_database, drop_postgres_database  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
check = Checks()


def raw(port: int, method: str, path: str, body: str = None, cookies: dict = None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if body is not None else {}
    if cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    text = response.read().decode()
    connection.close()
    return response.status, dict(response.getheaders()), text


def browser(width: int):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service as DriverService
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", f"--window-size={width},900",
                     "--disable-extensions", "--no-first-run"]:
        options.add_argument(argument)
    driver_path = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    return webdriver.Chrome(service=DriverService(executable_path=driver_path), options=options)


def sign_in(driver, base: str, token: str):
    """Signs in through the form and waits for the answer (a click does not wait for the page it leads to)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    driver.get(base + "/ui/sign-in")
    form = driver.find_element(By.CSS_SELECTOR, "form.card")
    driver.find_element(By.ID, "token").send_keys(token)
    form.find_element(By.CSS_SELECTOR, "button").click()
    WebDriverWait(driver, 10).until(lambda d: not d.current_url.endswith("/ui/sign-in") or d.find_elements(By.CSS_SELECTOR, "p.error"))


SECRET_VALUE = "second-db-password-\u00e9-<b>&amp;"


def data_reads(client) -> int:
    """Successful reads of secret/app/db's value in the audit trail (the response entries with status 200)."""
    status, answer = client.call("GET", "sys/audit-trail/entries?path=secret/data/app/db&operation=read&status=200&limit=1000")
    assert status == 200, answer
    return len([e for e in answer["data"]["entries"] if e.get("kind") == "response"])


def csrf_of(port: int, session: str, page: str) -> str:
    _, _, text = raw(port, "GET", page, cookies={"coffer_session": session})
    return text.split('name="csrf" value="')[1].split('"')[0]


def secrets_browser(driver, client, port: int, base: str, backend: str, session: str, screenshots: str):
    """The secrets browser: engines, folders, a secret's versions and metadata with no value on the page; a value
    shown after a click on Show value, audited as a read; forged and odd requests refused."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    reads = data_reads(client)
    driver.get(base + "/ui/secrets")
    driver.find_element(By.LINK_TEXT, "secret/").click()
    driver.find_element(By.LINK_TEXT, "app/").click()
    names = [a.text for a in driver.find_elements(By.CSS_SELECTOR, "ul.listing a")]
    check(names == ["api", "db"], f"{backend}: the folder secret/app/ lists its secrets", names)
    driver.find_element(By.LINK_TEXT, "db").click()
    versions = [r.text for r in driver.find_elements(By.CSS_SELECTOR, "table.versions tbody tr")]
    page = driver.page_source
    check(len(versions) == 2 and versions[0].startswith("2 current") and "payments-team" in page,
          f"{backend}: the secret's page shows its versions, labels and custom metadata", versions)
    check("second-db-password" not in page and "first-db-password" not in page and data_reads(client) == reads,
          f"{backend}: no value on the secret's page and no read of it in the audit trail")
    if screenshots:
        driver.save_screenshot(os.path.join(screenshots, f"console-secret-1280-{backend}.png"))
    driver.find_element(By.XPATH, "//form[@action='/ui/secrets/reveal'][input[@name='version'][@value='2']]/button").click()
    WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.CSS_SELECTOR, "table.value"))
    shown = driver.find_element(By.CSS_SELECTOR, "table.value").text
    check(SECRET_VALUE in shown and "app" in shown, f"{backend}: Show value shows version 2's value, escaped as text", shown)
    after = data_reads(client)
    check(after == reads + 1, f"{backend}: the value shown is one audited read of secret/data/app/db", (reads, after))
    # Forged and odd requests: without the CSRF token, a version that is not a number, odd names in the address.
    status, _, text = raw(port, "POST", "/ui/secrets/reveal", body="secret=secret%2Fapp%2Fdb&version=2",
                          cookies={"coffer_session": session})
    check(status == 403 and "second-db-password" not in text and data_reads(client) == reads + 1,
          f"{backend}: Show value without the CSRF token is refused and reads nothing", (status, data_reads(client)))
    csrf = csrf_of(port, session, "/ui/secrets")
    answers = {}
    for body, expected in {"secret=secret%2Fapp%2Fdb&version=x": 400, "secret=secret%2Fapp%2Fdb&version=-1": 400,
                           "secret=secret%2Fapp%2F..&version=1": 400, "secret=secret%2Fapp%2Fnope&version=1": 404,
                           "secret=secret%2Fapp%2Fdb%0d%0aX-Evil%3a1&version=1": 400, "secret=secret%2Fapp%2Fdb&version=9": 404}.items():
        status, headers, text = raw(port, "POST", "/ui/secrets/reveal", body=f"csrf={csrf}&{body}", cookies={"coffer_session": session})
        answers[body] = (status, expected, "X-Evil" in headers)
    for query, expected in {"secret/app/%2e%2e": 400, "secret/%2e%2e/app": 400, "secret/app/..": 400, "secret//app": 400,
                            "secret/app/db%0d%0aX-Evil:%201": 400, "secret/app/nope": 404, "nomount/": 404, "secret/a%2525b/": 400}.items():
        status, headers, text = raw(port, "GET", "/ui/secrets?path=" + query, cookies={"coffer_session": session})
        answers[query] = (status, expected, "X-Evil" in headers)
    check(all(status == expected and not injected for status, expected, injected in answers.values()),
          f"{backend}: odd secret names and versions are 4xx pages, never a 500", answers)


def restricted_secrets(driver, port: int, base: str, backend: str, token: str):
    """A token that may list and read metadata but not values: it browses, sees no Show value, and a forged
    reveal with its own CSRF token is a 403 page."""
    from selenium.webdriver.common.by import By
    driver.delete_all_cookies()
    sign_in(driver, base, token)
    links = [a.text for a in driver.find_elements(By.CSS_SELECTOR, "nav a")]
    check(links == ["Overview", "Secrets"], f"{backend}: a metadata-only token sees Overview and Secrets", links)
    driver.get(base + "/ui/secrets?path=secret/app/db")
    check("payments-team" in driver.page_source and "Show value" not in driver.page_source,
          f"{backend}: it sees the secret's metadata and no Show value")
    session = driver.get_cookie("coffer_session")["value"]
    csrf = csrf_of(port, session, "/ui/secrets")
    status, _, text = raw(port, "POST", "/ui/secrets/reveal", body=f"csrf={csrf}&secret=secret%2Fapp%2Fdb&version=2",
                          cookies={"coffer_session": session})
    check(status == 403 and "second-db-password" not in text, f"{backend}: its forged Show value is a 403 page", status)


ALL_PAGES = ["Overview", "Health", "Audit trail", "Secrets", "Rotation", "Leases", "Errors", "Metrics", "Models"]


def register_models(client):
    """Model "churn" with two versions, version 2 deployed under the alias production (was version 1)."""
    import json
    for version in (1, 2):
        manifest = {"version_label": f"{version}.0.0", "model_type": "classifier", "algorithm": "xgboost",
                    "validation_metrics": {"auc": 0.8 + version / 100}}
        connection = http.client.HTTPConnection("127.0.0.1", client.port, timeout=10)
        connection.request("POST", "/v1/coffer/models/churn/versions", body=f"model-bytes-{version}".encode(),
                           headers={"X-Vault-Token": client.token, "X-Coffer-Model": json.dumps(manifest),
                                    "Content-Type": "application/octet-stream"})
        response = connection.getresponse()
        text = response.read().decode()
        assert response.status == 200, (response.status, text)
        connection.close()
    for version in (1, 2):
        status, answer = client.call("POST", "coffer/models/churn/aliases/production", {"version": version})
        assert status in (200, 204), answer
    status, answer = client.call("POST", "coffer/models/churn/versions/2/status", {"status": "deployed"})
    assert status in (200, 204), answer


def issue_lease(client) -> str:
    """A dynamic credential from the test PostgreSQL server, for the leases page."""
    url = os.environ["COFFER_TEST_POSTGRES_URL"]
    templated = url.replace("postgres://coffer@", "postgresql://{{username}}:{{password}}@")
    status, answer = client.call("POST", "database/config/pg", {
        "plugin_name": "postgresql-database-plugin", "connection_url": templated, "username": "coffer",
        "password": "console-admin-password", "allowed_roles": "*"})
    assert status in (200, 204), answer
    status, answer = client.call("POST", "database/roles/console", {"db_name": "pg", "default_ttl": "1h", "creation_statements": [
        "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';"]})
    assert status in (200, 204), answer
    status, answer = client.call("GET", "database/creds/console")
    assert status == 200, answer
    return answer["lease_id"]


def approle_login_pair(client):
    """An AppRole whose tokens carry a health-only policy, and one secret ID."""
    if "approle/" not in client.call("GET", "sys/auth")[1]["data"]:
        status, answer = client.call("POST", "sys/auth/approle", {"type": "approle"})
        assert status in (200, 204), answer
    assert client.call("PUT", "sys/policies/acl/console-role", {
        "policy": 'path "coffer/health" { capabilities = ["read"] }\n'})[0] in (200, 204)
    assert client.call("POST", "auth/approle/role/console", {"token_policies": ["console-role"], "token_ttl": "1h"})[0] in (200, 204)
    role_id = client.call("GET", "auth/approle/role/console/role-id")[1]["data"]["role_id"]
    secret_id = client.call("POST", "auth/approle/role/console/secret-id")[1]["data"]["secret_id"]
    return role_id, secret_id


def audit_tools(driver, port: int, base: str, backend: str, session: str):
    """The audit page's verify and export: the chain verifies as intact, the export of a filter is an NDJSON
    attachment holding only matching entries, a bad filter is a 400 page."""
    import json
    from selenium.webdriver.common.by import By
    driver.get(base + "/ui/audit")
    driver.find_element(By.LINK_TEXT, "Verify the chain").click()
    text = driver.find_element(By.CSS_SELECTOR, "main").text
    check("Intact." in text and "Signed checkpoints" in text, f"{backend}: the audit page verifies the chain as intact", text[:300])
    status, headers, body = raw(port, "GET", "/ui/audit/export?path=auth/token/lookup-self&hours=1", cookies={"coffer_session": session})
    lines = [json.loads(line) for line in body.splitlines() if line]
    check(status == 200 and headers.get("Content-Type") == "application/x-ndjson"
          and headers.get("Content-Disposition", "").startswith("attachment; filename=\"coffer-audit-")
          and lines and all(line["path"] == "auth/token/lookup-self" for line in lines),
          f"{backend}: the export is an NDJSON attachment of the filtered entries", (status, headers.get("Content-Disposition"), len(lines)))
    status, _, _ = raw(port, "GET", "/ui/audit/export?path=secret%2F*%2Fx", cookies={"coffer_session": session})
    check(status == 400, f"{backend}: an export with a bad path glob is a 400 page", status)


def other_pages(driver, client, port: int, base: str, backend: str, session: str, lease: str, screenshots: str):
    """Health, leases, metrics and models, each with the real data made at set-up."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    driver.get(base + "/ui/health?check=api-port")
    results = driver.find_elements(By.CSS_SELECTOR, "table.results tbody tr")
    check(len(results) >= 1 and "passing" in results[0].text and "port-down" in driver.find_element(By.CSS_SELECTOR, "table.rules").text,
          f"{backend}: the health page shows the check's results and the alert rules", [r.text for r in results[:2]])
    status, _, _ = raw(port, "GET", "/ui/health?check=..%2Fx", cookies={"coffer_session": session})
    check(status == 400, f"{backend}: an odd check name is a 400 page", status)
    # Leases: listed, and Revoke (with the CSRF token) revokes it; without the token nothing happens.
    driver.get(base + "/ui/leases")
    check(lease in driver.find_element(By.CSS_SELECTOR, "table.leases").text, f"{backend}: the leases page lists the lease", lease)
    if screenshots:
        driver.save_screenshot(os.path.join(screenshots, f"console-leases-1280-{backend}.png"))
    status, _, _ = raw(port, "POST", "/ui/leases/revoke", body="id=" + urllib.parse.quote(lease, safe=""), cookies={"coffer_session": session})
    still = client.call("PUT", "sys/leases/lookup", {"lease_id": lease})[0]
    check(status == 403 and still == 200, f"{backend}: a Revoke without its CSRF token is refused, the lease stays", (status, still))
    driver.find_element(By.XPATH, f"//form[@action='/ui/leases/revoke'][input[@value='{lease}']]/button").click()
    WebDriverWait(driver, 15).until(lambda d: d.find_elements(By.CSS_SELECTOR, "p.changed"))
    gone = client.call("PUT", "sys/leases/lookup", {"lease_id": lease})[0]
    check(gone == 400, f"{backend}: Revoke revoked the lease", gone)
    # Metrics: the chart for a metric grouped by a label, one line per group.
    driver.get(base + "/ui/metrics?name=console_requests_total&range=1h&fn=max&by=route")
    lines = driver.find_elements(By.CSS_SELECTOR, "svg.chart polyline")
    legend = driver.find_element(By.CSS_SELECTOR, "ul.legend").text
    check(len(lines) == 2 and "route=a" in legend and "route=b" in legend and "87" in legend,
          f"{backend}: the metrics page draws one line per route, with the last values", legend)
    if screenshots:
        driver.save_screenshot(os.path.join(screenshots, f"console-metrics-1280-{backend}.png"))
    status, _, _ = raw(port, "GET", "/ui/metrics?name=console_requests_total&range=2y", cookies={"coffer_session": session})
    check(status == 400, f"{backend}: a range not offered is a 400 page", status)
    # Models: the list, then a model's versions, aliases and deployment history.
    driver.get(base + "/ui/models")
    driver.find_element(By.LINK_TEXT, "churn").click()
    versions = [r.text for r in driver.find_elements(By.CSS_SELECTOR, "table.versions tbody tr")]
    history = driver.find_element(By.CSS_SELECTOR, "table.events").text
    check(len(versions) == 2 and versions[0].startswith("2 2.0.0 deployed production"),
          f"{backend}: the model page lists versions with status and alias", versions)
    check("production → version 2 (was 1)" in history and "registered → deployed" in history,
          f"{backend}: the model page shows the deployment history", history)
    if screenshots:
        driver.save_screenshot(os.path.join(screenshots, f"console-model-1280-{backend}.png"))


def raw_sign_in(port: int, token: str) -> str:
    """A session through the sign-in form without a browser (its CSRF cookie and field); the session cookie."""
    _, headers, page = raw(port, "GET", "/ui/sign-in")
    csrf = page.split('name="csrf" value="')[1].split('"')[0]
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("POST", "/ui/sign-in", body=f"csrf={csrf}&token=" + urllib.parse.quote(token),
                       headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"coffer_signin={csrf}"})
    response = connection.getresponse()
    response.read()
    connection.close()
    assert response.status == 303, response.status
    # Two Set-Cookie fields (the session, and the sign-in cookie cleared): the session's is the one named so.
    cookie = next(c for c in response.headers.get_all("Set-Cookie") if c.startswith("coffer_session="))
    return cookie.split("coffer_session=")[1].split(";")[0]


def edit_row(backend: str, folder: str, database_url: str, statement: str, argument: str):
    """A database writer's edit underneath the running service (one statement with one text argument)."""
    if backend == "sqlite":
        import glob
        import sqlite3
        path = next(p for p in glob.glob(os.path.join(folder, "**", "*.db"), recursive=True))
        connection = sqlite3.connect(path, timeout=10)
        with connection:
            changed = connection.execute(statement.replace("%s", "?"), (argument,)).rowcount
        connection.close()
    else:
        import subprocess
        literal = "'" + argument.replace("'", "''") + "'"
        result = subprocess.run(["psql", database_url, "-q", "-t", "-c", statement.replace("%s", literal)], capture_output=True,
                                text=True, check=True)
        changed = int(result.stdout.strip().split()[-1]) if "UPDATE" in result.stdout else 1
    assert changed == 1, (statement, changed)


def database_writer(client, port: int, backend: str, folder: str, database_url: str, root: str):
    """Rows edited underneath the service show as such in the console: a lease row whose tag no longer matches is
    marked and offers no Revoke; an audit entry rewritten in place makes "Verify the chain" say not intact and name it."""
    session = raw_sign_in(port, root)
    lease = issue_lease(client)
    edit_row(backend, folder, database_url, "UPDATE leases SET username = 'someone-else' WHERE lease_id = %s", lease)
    _, _, page = raw(port, "GET", "/ui/leases", cookies={"coffer_session": session})
    row = page.split(lease)[1].split("</tr>")[0] if lease in page else ""
    check("row altered" in row and "/ui/leases/revoke" not in row,
          f"{backend}: a lease row edited underneath the service is marked altered and has no Revoke", row[:300])
    edit_row(backend, folder, database_url, "UPDATE audit_log SET path = 'sys/elsewhere' WHERE sequence = CAST(%s AS INTEGER)", "3")
    status, _, page = raw(port, "GET", "/ui/audit/verify", cookies={"coffer_session": session})
    main = page.split("<main>")[-1]
    check(status == 200 and "Not intact." in main and "The first entry it names is 3." in main,
          f"{backend}: an audit entry rewritten underneath the service makes Verify say not intact, naming it", main[:400])


def approle_sign_in(driver, client, port: int, base: str, backend: str, role_id: str, secret_id: str):
    """Sign-in with an AppRole: the issued token's policies decide the pages; sign-out revokes that token."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    driver.delete_all_cookies()
    driver.get(base + "/ui/sign-in")
    form = driver.find_element(By.CSS_SELECTOR, "form.approle")
    driver.find_element(By.ID, "role_id").send_keys(role_id)
    driver.find_element(By.ID, "secret_id").send_keys("wrong-" + secret_id)
    form.find_element(By.CSS_SELECTOR, "button").click()
    WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.CSS_SELECTOR, "p.error"))
    check("do not sign in" in driver.find_element(By.CSS_SELECTOR, "p.error").text, f"{backend}: a wrong secret ID does not sign in")
    form = driver.find_element(By.CSS_SELECTOR, "form.approle")
    driver.find_element(By.ID, "role_id").send_keys(role_id)
    driver.find_element(By.ID, "secret_id").send_keys(secret_id)
    form.find_element(By.CSS_SELECTOR, "button").click()
    WebDriverWait(driver, 10).until(lambda d: not d.current_url.endswith("/ui/sign-in"))
    links = [a.text for a in driver.find_elements(By.CSS_SELECTOR, "nav a")]
    check(links == ["Overview"], f"{backend}: an AppRole sign-in sees what its role's policy allows", links)
    check(secret_id not in driver.page_source, f"{backend}: the secret ID is in no page")
    entries = client.call("GET", "sys/audit-trail/entries?path=auth/approle/login&decision=open&limit=100")[1]["data"]["entries"]
    accessors = [e.get("auth.accessor") for e in entries if e.get("kind") == "response"]
    accessor = next((a for a in reversed(accessors) if a), None)
    driver.find_element(By.CSS_SELECTOR, "form.signout button").click()
    WebDriverWait(driver, 10).until(lambda d: d.current_url.endswith("/ui/sign-in"))
    status, answer = client.call("POST", "auth/token/lookup-accessor", {"accessor": accessor}) if accessor else (None, None)
    check(accessor is not None and status == 400, f"{backend}: sign-out revoked the AppRole session's token", (accessor, status, answer))


def run_backend(binary: str, backend: str, screenshots: str):
    from selenium.webdriver.common.by import By
    folder = tempfile.mkdtemp(prefix=f"coffer-console-{backend}-")
    environment = {"PATH": os.environ.get("PATH", ""), "COFFER_ROTATION_SCHEDULER": "false"}
    database = None
    if backend == "postgres":
        database = f"coffer_console_{os.getpid()}"
        environment["COFFER_DATABASE_URL"] = postgres_database(os.environ["COFFER_TEST_POSTGRES_URL"], database)
    service = Service(binary, backend, folder, environment)
    client = service.start()
    base = f"http://127.0.0.1:{service.port}"
    root = client.token
    # A check of the service's own port, run by the service every second: the overview has a real row to show.
    checks = {"checks": [{"name": "api-port", "component": "api", "type": "tcp", "host": "127.0.0.1", "port": service.port,
                          "interval": 1, "timeout": 1}]}
    status, answer = client.call("PUT", "coffer/health/checks?prune=false", checks)
    assert status == 200, answer
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        status, answer = client.call("GET", "coffer/health")
        if status == 200 and any(c["name"] == "api-port" and c["last_checked"] for c in answer["data"]["checks"]):
            break
        time.sleep(0.5)
    # An error issue, for the errors page.
    status, logged = client.call("POST", "coffer/errors/events", {"events": [
        {"component": "billing", "severity": "error", "message": "payment gateway timeout", "error_type": "Timeout"}]})
    assert status == 200, logged
    issue = logged["data"]["events"][0]["issue_id"]
    # A critical issue for the overview's recent critical errors, an alert rule and a firing transition for the
    # health page, a metric for the metrics page, a model with two versions and an alias for the registry page.
    status, logged = client.call("POST", "coffer/errors/events", {"events": [
        {"component": "vault-sync", "severity": "critical", "message": "replica lag beyond bound", "error_type": "Lag"}]})
    assert status == 200, logged
    rules = {"rules": [{"name": "port-down", "type": "health_transition", "check": "api-port", "to": "passing",
                        "sinks": [{"type": "log"}]}]}
    status, answer = client.call("PUT", "coffer/health/alerts/rules", rules)
    assert status == 200, answer
    now = time.time()
    points = [{"name": "console_requests_total", "labels": {"route": route}, "value": float(i * (2 if route == "a" else 3)),
               "timestamp": now - 1800 + i * 60} for i in range(30) for route in ("a", "b")]
    status, answer = client.call("POST", "coffer/metrics/points", {"points": points})
    assert status == 200, answer
    register_models(client)
    lease = issue_lease(client)
    role_id, secret_id = approle_login_pair(client)
    # A credential with a rotator, for the rotation page.
    assert client.call("POST", "secret/data/app/api", {"data": {"value": "initial-api-key"}})[0] == 200
    assert client.call("POST", "secret/metadata/app/api", {"rotation_kind": "random", "rotation_interval": "720h"})[0] == 204
    # A secret with two versions and custom metadata, for the secrets browser.
    for value in ["first-db-password-1", SECRET_VALUE]:
        assert client.call("POST", "secret/data/app/db", {"data": {"password": value, "user": "app"}})[0] == 200
    assert client.call("POST", "secret/metadata/app/db", {"custom_metadata": {"owner": "payments-team"}})[0] == 204
    browse = ('path "secret/metadata/*" { capabilities = ["read", "list"] }\n'
              'path "coffer/health" { capabilities = ["read"] }\n')
    assert client.call("PUT", "sys/policies/acl/secret-browser", {"policy": browse})[0] in (200, 204)
    status, created = client.call("POST", "auth/token/create", {"policies": ["secret-browser"], "display_name": "browser"})
    assert status == 200, created
    browser_token = created["auth"]["client_token"]
    policy = 'path "coffer/health" { capabilities = ["read"] }\npath "coffer/health/alerts" { capabilities = ["read"] }\n'
    assert client.call("PUT", "sys/policies/acl/health-viewer", {"policy": policy})[0] in (200, 204)
    status, created = client.call("POST", "auth/token/create", {"policies": ["health-viewer"], "display_name": "viewer"})
    assert status == 200, created
    viewer = created["auth"]["client_token"]

    driver = browser(1280)
    try:
        driver.get(base + "/ui/")
        check(driver.current_url.endswith("/ui/sign-in"), f"{backend}: a stranger is sent to sign-in", driver.current_url)
        sign_in(driver, base, root)
        check(driver.current_url.rstrip("/").endswith("/ui") and "Health" in driver.page_source and ">api-port<" in driver.page_source
              and "passing" in driver.page_source, f"{backend}: signed in, the overview shows the check the service ran", driver.page_source.split("<main>")[-1][:900])
        cookie = driver.get_cookie("coffer_session")
        check(cookie is not None and cookie.get("httpOnly") and cookie.get("sameSite") == "Strict" and cookie.get("path") == "/ui",
              f"{backend}: the session cookie is HttpOnly, SameSite=Strict, Path=/ui", cookie)
        check(root not in driver.page_source and root not in driver.current_url, f"{backend}: the token is in no page and no URL")
        links = [a.text for a in driver.find_elements(By.CSS_SELECTOR, "nav a")]
        check(links == ALL_PAGES, f"{backend}: the root token sees every page's link", links)
        page = driver.page_source
        check(len(driver.find_elements(By.CSS_SELECTOR, "table.checks svg.uptime rect")) >= 24 and "100%" in page,
              f"{backend}: the overview draws each check's 24-hour uptime bar and its availability")
        components = driver.find_element(By.CSS_SELECTOR, "table.components").text
        critical = driver.find_element(By.CSS_SELECTOR, "ul.critical").text
        check("api" in components and "replica lag beyond bound" in critical and "vault-sync" in critical,
              f"{backend}: the overview lists the components and the recent critical error", (components, critical))
        if screenshots:
            driver.save_screenshot(os.path.join(screenshots, f"console-overview-1280-{backend}.png"))
        driver.get(base + "/ui/audit?path=auth/token/lookup-self")
        rows = driver.find_elements(By.CSS_SELECTOR, "table.audit tbody tr")
        check(len(rows) >= 1 and "auth/token/lookup-self" in rows[0].text, f"{backend}: the audit trail lists the sign-in's lookup-self",
              [r.text for r in rows[:3]])
        if screenshots:
            driver.get(base + "/ui/audit")
            driver.save_screenshot(os.path.join(screenshots, f"console-audit-1280-{backend}.png"))
        session = cookie["value"]
        audit_tools(driver, service.port, base, backend, session)
        other_pages(driver, client, service.port, base, backend, session, lease, screenshots)
        secrets_browser(driver, client, service.port, base, backend, session, screenshots)
        # Rotation: the credential listed; "Rotate now" rotates it, as make rotate SECRET= would.
        driver.get(base + "/ui/rotation")
        check("secret/app/api" in driver.page_source and "random" in driver.page_source, f"{backend}: the rotation page lists the credential")
        driver.find_element(By.CSS_SELECTOR, "form[action='/ui/rotation/rotate'] button").click()
        from selenium.webdriver.support.ui import WebDriverWait
        WebDriverWait(driver, 15).until(lambda d: d.find_elements(By.CSS_SELECTOR, "ul.outcomes"))
        status, answer = client.call("GET", "secret/metadata/app/api")
        check("rotated" in driver.find_element(By.CSS_SELECTOR, "ul.outcomes").text and answer["data"]["current_version"] == 2,
              f"{backend}: Rotate now rotated it (version 2)", driver.find_element(By.CSS_SELECTOR, "main").text)
        # Odd names in a form, sent with the right CSRF token: a 4xx page saying what was wrong, never a 500.
        _, _, rotation_page = raw(service.port, "GET", "/ui/rotation", cookies={"coffer_session": session})
        token_field = rotation_page.split('name="csrf" value="')[1].split('"')[0]
        odd = {"secret/app/%2e%2e": 400, "secret/a%2525b/x": 400, "secret/app/..": 400, "secret/app\r\nX-Evil: 1": 400,
               "secret/%00x": 400, "secret": 400, "secret/app/missing": 404}
        answers = {}
        for name, expected in odd.items():
            status, headers, text = raw(service.port, "POST", "/ui/rotation/rotate", cookies={"coffer_session": session},
                                        body=f"csrf={token_field}&secret=" + urllib.parse.quote(name, safe=""))
            answers[name] = (status, expected, "X-Evil" in headers)
        check(all(status == expected and not injected for status, expected, injected in answers.values()),
              f"{backend}: odd credential names are 4xx pages, never a 500", answers)
        status, _, _ = raw(service.port, "POST", "/ui/errors/action", cookies={"coffer_session": session},
                           body=f"csrf={token_field}&id=999999&action=resolve")
        check(status == 404, f"{backend}: resolving an unknown issue is a 404 page", status)
        # Errors: the issue listed unresolved; a forged Resolve is refused; the real one resolves it.
        status, _, _ = raw(service.port, "POST", "/ui/errors/action", body=f"id={issue}&action=resolve", cookies={"coffer_session": session})
        unchanged = client.call("GET", f"coffer/errors/issues/{issue}")[1]["data"]["issue"]["status"]
        check(status == 403 and unchanged == "unresolved", f"{backend}: a Resolve form without its CSRF token is refused", (status, unchanged))
        driver.get(base + "/ui/errors")
        check("payment gateway timeout" in driver.page_source, f"{backend}: the errors page lists the issue")
        driver.find_element(By.XPATH, f"//form[@action='/ui/errors/action'][input[@name='id'][@value='{issue}']][input[@value='resolve']]/button").click()
        WebDriverWait(driver, 15).until(lambda d: d.find_elements(By.CSS_SELECTOR, "p.changed"))
        resolved = client.call("GET", f"coffer/errors/issues/{issue}")[1]["data"]["issue"]["status"]
        check(resolved == "resolved" and "resolved" in driver.find_element(By.CSS_SELECTOR, "p.changed").text,
              f"{backend}: Resolve resolved the issue", resolved)
        status, _, text = raw(service.port, "POST", "/ui/rotation/rotate", body="secret=secret%2Fapp%2Fapi",
                              cookies={"coffer_session": session})
        after = client.call("GET", "secret/metadata/app/api")[1]["data"]["current_version"]
        check(status == 403 and after == 2, f"{backend}: a rotate form without its CSRF token is refused, nothing rotated", (status, after))
        # A sign-out posted from elsewhere has no CSRF token: refused, and the session goes on.
        status, _, text = raw(service.port, "POST", "/ui/sign-out", body="", cookies={"coffer_session": session})
        check(status == 403 and "CSRF" in text, f"{backend}: sign-out without its CSRF token is refused", status)
        status, _, _ = raw(service.port, "GET", "/ui/", cookies={"coffer_session": session})
        check(status == 200, f"{backend}: the session survived the forged sign-out")
        status, _, _ = raw(service.port, "POST", "/ui/sign-in", body="token=" + urllib.parse.quote(root) + "&csrf=guess")
        check(status == 403, f"{backend}: sign-in without the form's CSRF cookie is refused", status)
        driver.find_element(By.CSS_SELECTOR, "form.signout button").click()
        from selenium.webdriver.support.ui import WebDriverWait
        WebDriverWait(driver, 10).until(lambda d: d.current_url.endswith("/ui/sign-in"))
        check("/ui/sign-in" in driver.current_url, f"{backend}: signed out", driver.current_url)
        status, headers, _ = raw(service.port, "GET", "/ui/", cookies={"coffer_session": session})
        check(status == 303 and headers.get("Location") == "/ui/sign-in", f"{backend}: the old session is gone after sign-out", status)
        status, headers, _ = raw(service.port, "GET", "/ui/sign-in")
        csp = headers.get("Content-Security-Policy", "")
        check("default-src 'self'" in csp and "frame-ancestors 'none'" in csp and headers.get("X-Content-Type-Options") == "nosniff",
              f"{backend}: Content-Security-Policy default-src 'self' on every page", headers)
        check("<script" not in driver.page_source.lower(), f"{backend}: no script on the page")

        # A restricted token: no link to what it may not open, a 403 page there.
        sign_in(driver, base, viewer)
        links = [a.text for a in driver.find_elements(By.CSS_SELECTOR, "nav a")]
        check(links == ["Overview"], f"{backend}: a health-only token sees no audit trail link", links)
        driver.get(base + "/ui/rotation")
        check("Not allowed" in driver.page_source and "Rotate now" not in driver.page_source, f"{backend}: the rotation page is a 403 page for it")
        driver.get(base + "/ui/audit")
        check("Not allowed" in driver.page_source and "table" not in driver.page_source.split("<main>")[-1][:200],
              f"{backend}: the audit trail is a 403 page for it", driver.page_source[-500:])
        status, _, _ = raw(service.port, "GET", "/ui/audit", cookies={"coffer_session": driver.get_cookie("coffer_session")["value"]})
        check(status == 403, f"{backend}: with status 403", status)
        status, _, _ = raw(service.port, "GET", "/ui/audit/export", cookies={"coffer_session": driver.get_cookie("coffer_session")["value"]})
        check(status == 403, f"{backend}: the audit export is a 403 page for it", status)
        for address in ["/ui/leases", "/ui/metrics", "/ui/models", "/ui/health"]:
            driver.get(base + address)
            check("Not allowed" in driver.page_source, f"{backend}: {address} is a 403 page for it")
        restricted_secrets(driver, service.port, base, backend, browser_token)
        approle_sign_in(driver, client, service.port, base, backend, role_id, secret_id)
    finally:
        driver.quit()

    narrow = browser(390)
    try:
        # A phone's viewport: Chromium's window has a minimum width, so the width is set by device emulation.
        narrow.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True})
        sign_in(narrow, base, root)
        width = narrow.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
        check(width[0] <= width[1] <= 390, f"{backend}: the overview fits 390 px without sideways scrolling", width)
        if screenshots:
            narrow.save_screenshot(os.path.join(screenshots, f"console-overview-390-{backend}.png"))
        # Every other page too: wide tables scroll inside themselves, the page does not.
        widths = {}
        for address in ["/ui/health?check=api-port", "/ui/audit", "/ui/audit/verify", "/ui/secrets?path=secret/app/db", "/ui/rotation",
                        "/ui/leases", "/ui/errors", "/ui/metrics?name=console_requests_total&by=route", "/ui/models?name=churn"]:
            narrow.get(base + address)
            widths[address] = narrow.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
            if screenshots and address.startswith("/ui/metrics"):
                narrow.save_screenshot(os.path.join(screenshots, f"console-metrics-390-{backend}.png"))
        check(all(scroll <= inner <= 390 for scroll, inner in widths.values()), f"{backend}: every page fits 390 px", widths)
    finally:
        narrow.quit()
    database_writer(client, service.port, backend, folder, environment.get("COFFER_DATABASE_URL"), root)
    log = open(os.path.join(folder, "coffer.log")).read()
    check(root not in log and viewer not in log, f"{backend}: no token in the service log")
    check(SECRET_VALUE not in log, f"{backend}: no secret value in the service log")
    service.stop()
    if database:
        drop_postgres_database(os.environ["COFFER_TEST_POSTGRES_URL"], database)
    shutil.rmtree(folder, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--screenshots", help="save the pages' screenshots in this folder")
    arguments = parser.parse_args()
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        raise SystemExit("console-browser: chromium and chromium-driver are needed (make deps installs them)")
    binary = os.environ.get("COFFER_BIN") or os.path.join(ROOT, ".build", "debug", "coffer")
    if not os.environ.get("COFFER_TEST_POSTGRES_URL"):
        raise SystemExit("console-browser: COFFER_TEST_POSTGRES_URL is needed (the PostgreSQL backend, and on both backends the "
                         "dynamic credential the leases page shows)")
    backends = ["sqlite", "postgres"]
    if arguments.screenshots:
        os.makedirs(arguments.screenshots, exist_ok=True)
    for backend in backends:
        run_backend(binary, backend, arguments.screenshots)
    check.finish("console-browser", f"the console works in headless Chromium on {', '.join(backends)}")


if __name__ == "__main__":
    main()
