-- The seed's monitoring dashboard, as named views on both backends (Docs/SUITE.md, "Reports"):
-- coffer report health and coffer report models read them.

-- Per component: its checks, how many are critical, warning, in maintenance or flapping, and the last run.
CREATE VIEW health_overview AS
SELECT c.component AS component,
       count(*) AS checks,
       count(CASE WHEN s.status = 'critical' THEN 1 END) AS critical,
       count(CASE WHEN s.status = 'warning' THEN 1 END) AS warning,
       count(CASE WHEN s.status = 'maintenance' THEN 1 END) AS maintenance,
       count(CASE WHEN s.flapping = TRUE THEN 1 END) AS flapping,
       count(CASE WHEN s.status IS NULL THEN 1 END) AS never_run,
       max(s.checked_at) AS last_checked,
       (SELECT count(*) FROM error_issues i WHERE i.component = c.component AND i.status = 'unresolved') AS open_issues
FROM health_checks c LEFT JOIN health_state s ON s.check_name = c.name
GROUP BY c.component;

-- Per model version and metric: its value, the version's status, and whether it is the champion.
CREATE VIEW model_performance AS
SELECT r.name AS name, r.version AS version, r.version_label AS version_label, r.status AS status,
       m.scope AS scope, m.metric AS metric, m.value AS value, r.created_at AS created_at,
       CASE WHEN EXISTS (SELECT 1 FROM ml_model_aliases a WHERE a.name = r.name AND a.version = r.version AND a.alias = 'champion')
            THEN 1 ELSE 0 END AS champion
FROM ml_model_registry r JOIN ml_model_metrics m ON m.name = r.name AND m.version = r.version;
