-- Periodic tokens, token roles (auth/token/roles/*) and the time of a token's last renewal, as Vault keeps
-- them (Docs/API.md, "Tokens").
ALTER TABLE tokens ADD COLUMN period BIGINT NOT NULL DEFAULT 0;    -- seconds; each renewal sets the TTL to it; 0 = not periodic
ALTER TABLE tokens ADD COLUMN role TEXT;                            -- the token role it was made from, or NULL
ALTER TABLE tokens ADD COLUMN last_renewal_at TIMESTAMPTZ;          -- NULL = never renewed

CREATE TABLE token_roles (
    name TEXT PRIMARY KEY,
    allowed_policies TEXT NOT NULL,          -- JSON array; empty = the creator's own policies
    disallowed_policies TEXT NOT NULL,       -- JSON array
    orphan BOOLEAN NOT NULL,
    renewable BOOLEAN NOT NULL,
    period BIGINT NOT NULL,                  -- seconds; 0 = not periodic
    explicit_max_ttl BIGINT NOT NULL,        -- seconds; 0 = none
    path_suffix TEXT NOT NULL,
    no_default_policy BOOLEAN NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
