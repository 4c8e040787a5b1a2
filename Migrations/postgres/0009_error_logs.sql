-- The persistence suite, part 2: error logs (Docs/SUITE.md, "Error logs"). Events are grouped into issues
-- by fingerprint; issues follow Sentry's workflow (unresolved, resolved, ignored, regressed) with a history
-- of who changed what.

CREATE TABLE error_issues (
    id BIGSERIAL PRIMARY KEY,
    fingerprint TEXT NOT NULL UNIQUE,
    component TEXT NOT NULL,
    error_type TEXT NOT NULL,
    title TEXT NOT NULL,                      -- the first event's message
    severity TEXT NOT NULL,                   -- the highest seen: debug < info < warning < error < critical
    status TEXT NOT NULL,                     -- unresolved | resolved | ignored
    regressed BOOLEAN NOT NULL,                 -- seen again after it was resolved
    resolved_in_release TEXT,                 -- "resolved in release X": older releases do not regress it
    resolved_by TEXT,                         -- token accessor
    resolved_at TIMESTAMPTZ,
    resolution_note TEXT,
    ignored_until TIMESTAMPTZ,                        -- ignored until this time …
    ignored_until_count BIGINT,                 -- … or until the issue's count reaches this
    event_count BIGINT NOT NULL,
    first_seen TIMESTAMPTZ NOT NULL,
    last_seen TIMESTAMPTZ NOT NULL,
    last_release TEXT
);
CREATE INDEX error_issues_by_status ON error_issues (status, last_seen);

CREATE TABLE error_logs (
    id BIGSERIAL PRIMARY KEY,
    issue_id BIGINT NOT NULL,
    component TEXT NOT NULL,
    severity TEXT NOT NULL,
    message TEXT NOT NULL,
    error_type TEXT NOT NULL,
    stack_trace TEXT NOT NULL,
    context TEXT NOT NULL,                    -- JSON object
    release TEXT,
    host TEXT NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    source_id TEXT UNIQUE                     -- an import's id for the event (same file twice: nothing new)
);
CREATE INDEX error_logs_by_issue ON error_logs (issue_id, occurred_at);
CREATE INDEX error_logs_by_time ON error_logs (occurred_at);

CREATE TABLE error_issue_history (
    id BIGSERIAL PRIMARY KEY,
    issue_id BIGINT NOT NULL,
    action TEXT NOT NULL,                     -- resolved | ignored | reopened | regressed | unignored
    from_status TEXT NOT NULL,
    to_status TEXT NOT NULL,
    release TEXT,
    note TEXT NOT NULL,
    accessor TEXT NOT NULL,
    at TIMESTAMPTZ NOT NULL
);
CREATE INDEX error_issue_history_by_issue ON error_issue_history (issue_id, id);
