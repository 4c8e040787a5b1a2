-- The key term each running instance seals new records under, refreshed every few seconds (Docs/KEYS.md):
-- `rewrap --retire` refuses while a live instance is still behind the active term.
CREATE TABLE key_instances (
    instance_id TEXT PRIMARY KEY,
    active_term INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL
);
