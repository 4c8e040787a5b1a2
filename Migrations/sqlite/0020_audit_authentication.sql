-- The audit trail under the keyring (Docs/AUDIT.md): each entry's tag covers its sequence and chained hash, so
-- rewriting entries and recomputing the (unkeyed) chain is found by the service's verify; NULL for an entry
-- written while sealed (the next tagged entry covers it). Each checkpoint names the one before it, so a
-- checkpoint removed from the middle is found by the next; NULL for checkpoints written before this.
ALTER TABLE audit_log ADD COLUMN auth_term INTEGER;
ALTER TABLE audit_log ADD COLUMN auth_tag BLOB;
ALTER TABLE audit_checkpoints ADD COLUMN previous INTEGER;
