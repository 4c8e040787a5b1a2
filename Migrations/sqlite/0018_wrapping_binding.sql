-- Wrapped responses sealed from now on are bound to their wrapping token's hash as well as their accessor
-- (Docs/KEYS.md), so a database writer who swaps two rows' token hashes cannot unwrap the other's response.
-- `binding_id` records that binding for `sys/rewrap`, which must open a row to move it to a new key term; an
-- unwrap never reads it, and derives the binding from the token presented. Rows written before have none and
-- keep the older binding (the accessor alone) until they are unwrapped or expire.
ALTER TABLE wrapped_responses ADD COLUMN binding_id TEXT;
