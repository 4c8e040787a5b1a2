-- Audit devices in Vault's format (Docs/AUDIT.md, "Audit devices"): copies of each request and response, as
-- Vault's file and socket devices write them, beside Coffer's own trail (which stays the record and fails closed).
CREATE TABLE audit_devices (
    path TEXT PRIMARY KEY,                   -- without the trailing slash: 'siem'
    type TEXT NOT NULL CHECK (type IN ('file', 'socket')),
    description TEXT NOT NULL,
    options TEXT NOT NULL,                   -- JSON object of strings (file_path; address, socket_type)
    uuid TEXT NOT NULL,                      -- names the device's HMAC key, derived from the audit key
    created_at TIMESTAMPTZ NOT NULL
);
