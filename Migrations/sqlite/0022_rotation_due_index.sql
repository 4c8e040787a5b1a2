-- The rotation scheduler asks every few seconds whether any credential is due (Docs/ROTATION.md): a partial
-- index over the scheduled ones keeps that a few pages however many secrets have no rotator.
CREATE INDEX api_credentials_rotation_due ON api_credentials (next_rotation_at) WHERE rotation_kind IS NOT NULL;
