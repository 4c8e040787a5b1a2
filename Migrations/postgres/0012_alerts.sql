-- The persistence suite, part 2: alerts (Docs/SUITE.md, "Alerts"). Rules as code fire on bursts of critical
-- errors, metric thresholds and health transitions; every firing and resolution is kept, with what each sink
-- was told; silences stop notifications, never the history.

CREATE TABLE alert_rules (
    name TEXT PRIMARY KEY,
    definition TEXT NOT NULL,                 -- JSON: type, condition, sinks, grouping, repeat interval
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE alert_state (
    rule TEXT NOT NULL,
    group_key TEXT NOT NULL,                  -- what the alert is about: a component, a check, a label set
    state TEXT NOT NULL,                      -- firing | resolved
    since TIMESTAMPTZ NOT NULL,
    last_notified TIMESTAMPTZ,
    PRIMARY KEY (rule, group_key)
);

CREATE TABLE alert_history (
    id BIGSERIAL PRIMARY KEY,
    rule TEXT NOT NULL,
    group_key TEXT NOT NULL,
    state TEXT NOT NULL,                      -- firing | resolved | repeat
    summary TEXT NOT NULL,
    delivery TEXT NOT NULL,                   -- per sink: delivered, failed after N attempts, silenced
    at TIMESTAMPTZ NOT NULL
);
CREATE INDEX alert_history_by_time ON alert_history (at);

CREATE TABLE alert_silences (
    id BIGSERIAL PRIMARY KEY,
    rule TEXT NOT NULL,                       -- a rule, or * for all
    until_at TIMESTAMPTZ NOT NULL,
    reason TEXT NOT NULL,
    created_by TEXT NOT NULL
);
