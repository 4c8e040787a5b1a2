-- The persistence suite, part 2: system health (Docs/SUITE.md, "System health"). Checks are defined as code
-- (a JSON file applied with coffer health apply) and run by the service; every result is kept, with the
-- state each check settled in after its thresholds, and maintenance windows that do not count as downtime.

CREATE TABLE health_checks (
    name TEXT PRIMARY KEY,
    component TEXT NOT NULL,
    definition TEXT NOT NULL,                 -- JSON: type, target, interval, timeout, thresholds
    updated_at INTEGER NOT NULL
);

CREATE TABLE system_health (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    check_name TEXT NOT NULL,
    component TEXT NOT NULL,
    result TEXT NOT NULL,                     -- this run: passing | warning | critical
    status TEXT NOT NULL,                     -- the check's state after it: passing | warning | critical | maintenance
    latency_ms REAL NOT NULL,
    details TEXT NOT NULL,
    instance TEXT NOT NULL,                   -- the Coffer instance that ran it
    checked_at INTEGER NOT NULL
);
CREATE INDEX system_health_by_check ON system_health (check_name, checked_at);

CREATE TABLE health_state (
    check_name TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    failures INTEGER NOT NULL,                   -- consecutive failed runs
    successes INTEGER NOT NULL,                  -- consecutive passing runs
    flapping INTEGER NOT NULL,
    changed_at INTEGER NOT NULL,
    checked_at INTEGER NOT NULL
);

CREATE TABLE health_maintenance (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    component TEXT NOT NULL,                  -- a component, or * for all
    starts_at INTEGER NOT NULL,
    ends_at INTEGER NOT NULL,
    reason TEXT NOT NULL,
    created_by TEXT NOT NULL
);
