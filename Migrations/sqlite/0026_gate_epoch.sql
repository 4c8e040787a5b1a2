-- The Gate's revocation epoch (Docs/POLICIES.md, "The identity cache"): each instance may keep a token's identity
-- and ACL in memory, tagged with the epoch it was read under, and reads this one row before every request.
-- Anything that can take authority away moves the epoch in the same transaction, by these triggers: a row of
-- a token with unlimited uses deleted (every revocation, the expiry sweep, a revoked parent's children) or
-- updated (a renewal, an orphaning, a re-tag, a tag a database writer removed), any policy created, changed or
-- deleted. Tokens with limited uses are left out: the Gate never keeps one (each use is spent in the database),
-- so their last use does not make every instance read every token again.
-- So once the call that revoked (or changed a policy) has returned, every instance's next request sees a
-- newer epoch and reads the token again. Triggers, not code at each call site: a path added later, or a row
-- deleted by hand, cannot forget it.
CREATE TABLE gate_epoch (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
);
INSERT INTO gate_epoch (id, value) VALUES (1, 1);

CREATE TRIGGER gate_epoch_token_deleted AFTER DELETE ON tokens WHEN OLD.num_uses = 0
BEGIN
    UPDATE gate_epoch SET value = value + 1 WHERE id = 1;
END;

CREATE TRIGGER gate_epoch_token_changed AFTER UPDATE ON tokens WHEN OLD.num_uses = 0
BEGIN
    UPDATE gate_epoch SET value = value + 1 WHERE id = 1;
END;

CREATE TRIGGER gate_epoch_policy_inserted AFTER INSERT ON policies
BEGIN
    UPDATE gate_epoch SET value = value + 1 WHERE id = 1;
END;

CREATE TRIGGER gate_epoch_policy_updated AFTER UPDATE ON policies
BEGIN
    UPDATE gate_epoch SET value = value + 1 WHERE id = 1;
END;

CREATE TRIGGER gate_epoch_policy_deleted AFTER DELETE ON policies
BEGIN
    UPDATE gate_epoch SET value = value + 1 WHERE id = 1;
END;
