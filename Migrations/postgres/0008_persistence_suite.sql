-- The persistence suite, part 1 (Docs/SUITE.md): the model registry with its version history and a
-- content-addressed artifact store on disk (rows hold the SHA-256 digest), the feature cache, and the
-- persistent cache. Every module is reached through the Gate only.

CREATE TABLE ml_models (
    name TEXT PRIMARY KEY,
    description TEXT NOT NULL,
    created_by TEXT NOT NULL,                 -- token accessor
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE ml_model_registry (
    name TEXT NOT NULL REFERENCES ml_models (name),
    version BIGINT NOT NULL,                    -- 1, 2, 3 … per model, never reused
    version_label TEXT NOT NULL,              -- semantic version, rising with version
    model_type TEXT NOT NULL,
    algorithm TEXT NOT NULL,
    parameters TEXT NOT NULL,                 -- JSON object
    training_metrics TEXT NOT NULL,           -- JSON object of numbers (also in ml_model_metrics, for search)
    validation_metrics TEXT NOT NULL,
    tags TEXT NOT NULL,                       -- JSON object of strings (also in ml_model_tags)
    source TEXT NOT NULL,                     -- lineage: where the model came from (a run, a notebook, a commit)
    training_data TEXT NOT NULL,              -- lineage: the training data reference
    artifact_digest TEXT NOT NULL,            -- SHA-256, hex: the blob's name in the artifact store
    artifact_size BIGINT NOT NULL,
    status TEXT NOT NULL,                     -- registered | staged | deployed | retired
    created_by TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (name, version)
);
CREATE INDEX ml_model_registry_digest ON ml_model_registry (artifact_digest);
CREATE INDEX ml_model_registry_status ON ml_model_registry (status, name);

CREATE TABLE ml_model_metrics (
    name TEXT NOT NULL,
    version BIGINT NOT NULL,
    scope TEXT NOT NULL,                      -- training | validation
    metric TEXT NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (name, version, scope, metric)
);
CREATE INDEX ml_model_metrics_by_metric ON ml_model_metrics (scope, metric, value);

CREATE TABLE ml_model_tags (
    name TEXT NOT NULL,
    version BIGINT NOT NULL,
    tag TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (name, version, tag)
);
CREATE INDEX ml_model_tags_by_tag ON ml_model_tags (tag, value);

CREATE TABLE ml_model_aliases (
    name TEXT NOT NULL,
    alias TEXT NOT NULL,                      -- champion, challenger, …
    version BIGINT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (name, alias)
);

-- Every registration, status change and alias move, with who made it: the deployment history.
CREATE TABLE ml_model_history (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    version BIGINT NOT NULL,
    event TEXT NOT NULL,                      -- registered | status | alias_set | alias_removed
    alias TEXT,
    from_status TEXT,
    to_status TEXT,
    previous_version BIGINT,                    -- the version the alias pointed at before
    note TEXT NOT NULL,
    accessor TEXT NOT NULL,
    at TIMESTAMPTZ NOT NULL
);
CREATE INDEX ml_model_history_by_model ON ml_model_history (name, id);

CREATE TABLE feature_sets (
    name TEXT PRIMARY KEY,
    value_type TEXT NOT NULL,                 -- number | json
    ttl_seconds BIGINT NOT NULL,                -- 0: values never expire; enforced on read
    retention_seconds BIGINT NOT NULL,          -- 0: kept; else the pruner removes values older than this
    features TEXT NOT NULL,                   -- JSON array of declared feature names; empty: any
    description TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE feature_cache (
    feature_set TEXT NOT NULL REFERENCES feature_sets (name) ON DELETE CASCADE,
    entity TEXT NOT NULL,
    feature TEXT NOT NULL,
    event_time TIMESTAMPTZ NOT NULL,
    write_time TIMESTAMPTZ NOT NULL,
    value_number DOUBLE PRECISION,                       -- a number set's value
    value_json TEXT,                          -- a json set's value; both NULL: the value is null
    PRIMARY KEY (feature_set, entity, feature, event_time)
);
CREATE INDEX feature_cache_by_event ON feature_cache (event_time);

CREATE TABLE feature_cache_counters (
    feature_set TEXT PRIMARY KEY,
    hits BIGINT NOT NULL,
    misses BIGINT NOT NULL,
    expired BIGINT NOT NULL
);

CREATE TABLE cache_entries (
    namespace TEXT NOT NULL,
    cache_key TEXT NOT NULL,
    value BYTEA NOT NULL,
    expires_at TIMESTAMPTZ,                           -- NULL: no expiry
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    hits BIGINT NOT NULL,
    last_access_at TIMESTAMPTZ,
    PRIMARY KEY (namespace, cache_key)
);
CREATE INDEX cache_entries_expiry ON cache_entries (expires_at);

CREATE TABLE cache_namespaces (
    namespace TEXT PRIMARY KEY,
    warm BOOLEAN NOT NULL,                      -- loaded into the memory tier at start-up
    hits BIGINT NOT NULL,
    misses BIGINT NOT NULL,
    evictions BIGINT NOT NULL,                  -- dropped from the memory tier to make room
    expirations BIGINT NOT NULL,                -- expired rows purged
    updated_at TIMESTAMPTZ NOT NULL
);
