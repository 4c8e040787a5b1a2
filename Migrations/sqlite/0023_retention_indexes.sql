-- The retention pruner deletes by age (Docs/OPERATIONS.md, "Retention"): an index on each age column it uses
-- that had none, so each batch finds its oldest rows without a scan. (error_logs and alert_history have theirs.)
CREATE INDEX system_health_by_time ON system_health (checked_at);
CREATE INDEX rotation_runs_finished ON rotation_runs (finished_at);
