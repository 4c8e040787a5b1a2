-- The audit trail's archive (Docs/AUDIT.md, "Archive"): entries older than the retention are moved to sealed
-- segment files and deleted here. Each row names one file: the entries first..last, the hash before the first
-- (the chain's anchor) and of the last (a checkpoint's head: a segment always ends on one), the file's
-- BLAKE2b-256 digest, and an Ed25519 signature by the audit key over all of it. The live table then starts
-- at the newest segment's last + 1, chained from its head, and its checkpoints name that segment's last as
-- their predecessor. The signature keeps a database writer from passing a deletion off as an archive.
CREATE TABLE audit_segments (
    first_sequence INTEGER PRIMARY KEY,
    last_sequence INTEGER NOT NULL,
    anchor BLOB NOT NULL,
    head BLOB NOT NULL,
    digest BLOB NOT NULL,
    time INTEGER NOT NULL,
    file TEXT NOT NULL,
    signature BLOB NOT NULL
);
