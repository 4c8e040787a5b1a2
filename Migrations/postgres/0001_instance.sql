-- The identity of this Coffer installation: one row, written once by the first start-up.
-- Reported as cluster_id / cluster_name by /v1/sys/health, as Vault reports its cluster.
CREATE TABLE coffer_instance (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    cluster_id TEXT NOT NULL,
    cluster_name TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
