-- Periodic tokens, token roles (auth/token/roles/*) and the time of a token's last renewal, as Vault keeps
-- them (Docs/API.md, "Tokens").
ALTER TABLE tokens ADD COLUMN period INTEGER NOT NULL DEFAULT 0;   -- seconds; each renewal sets the TTL to it; 0 = not periodic
ALTER TABLE tokens ADD COLUMN role TEXT;                            -- the token role it was made from, or NULL
ALTER TABLE tokens ADD COLUMN last_renewal_at INTEGER;              -- NULL = never renewed

CREATE TABLE token_roles (
    name TEXT PRIMARY KEY,
    allowed_policies TEXT NOT NULL,          -- JSON array; empty = the creator's own policies
    disallowed_policies TEXT NOT NULL,       -- JSON array
    orphan INTEGER NOT NULL,
    renewable INTEGER NOT NULL,
    period INTEGER NOT NULL,                 -- seconds; 0 = not periodic
    explicit_max_ttl INTEGER NOT NULL,       -- seconds; 0 = none
    path_suffix TEXT NOT NULL,
    no_default_policy INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
