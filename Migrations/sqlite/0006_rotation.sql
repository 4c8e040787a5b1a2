-- Staged rotation (Docs/ROTATION.md): the labels a rotation moves, its settings, its failures, the runs
-- with the step each reached (so a run killed at any instant is resumed), and a lease-style lock per secret.

-- `current_version` stays what a plain read returns (the `current` label). A rotation's new value is
-- written as `pending_version` first and becomes current only at its finish step; the old one stays
-- readable as `previous_version` until `previous_until`.
ALTER TABLE api_credentials ADD COLUMN pending_version INTEGER;
ALTER TABLE api_credentials ADD COLUMN previous_version INTEGER;
ALTER TABLE api_credentials ADD COLUMN previous_until INTEGER;
ALTER TABLE api_credentials ADD COLUMN rotation_schedule TEXT;        -- cron, five fields in UTC; instead of rotation_interval
ALTER TABLE api_credentials ADD COLUMN rotation_settings TEXT;        -- the rotator's settings, a JSON object (never secret)
ALTER TABLE api_credentials ADD COLUMN rotation_failures INTEGER NOT NULL DEFAULT 0;  -- failed runs in a row
ALTER TABLE api_credentials ADD COLUMN rotation_retry_at INTEGER;     -- backoff: not due again before this
ALTER TABLE api_credentials ADD COLUMN rotation_last_error TEXT;

CREATE TABLE rotation_runs (
    id TEXT PRIMARY KEY,                      -- the run's idempotency key
    secret_id TEXT NOT NULL,                  -- mount/path (no foreign key: the record outlives a deleted secret)
    rotator TEXT NOT NULL,
    state TEXT NOT NULL,                      -- running | succeeded | failed
    step TEXT NOT NULL,                       -- create | set | test | finish
    step_done INTEGER NOT NULL,               -- 0: the step started (and may have acted), 1: it completed
    old_version INTEGER NOT NULL,
    new_version INTEGER,                      -- the pending version, once created
    error TEXT,
    started_by TEXT NOT NULL,                 -- token accessor
    started_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    finished_at INTEGER
);
CREATE INDEX rotation_runs_secret ON rotation_runs (secret_id, state);

CREATE TABLE rotation_locks (
    secret_id TEXT PRIMARY KEY,
    holder TEXT NOT NULL,                     -- one attempt of a run (a resumed run takes the lock under a new holder)
    expires_at INTEGER NOT NULL               -- a dead run's lock is taken over after this
);
