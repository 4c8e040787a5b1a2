# service retention-pruner: deletes what is older than the retention settings (Docs/OPERATIONS.md,
# "Retention"): health check results, alert history, error events (issues keep their counts) and finished
# rotation runs, in short batches; and moves audit entries past their retention into sealed archive segments
# (Docs/AUDIT.md, "Archive"). It reads nothing and writes nothing else.
path "coffer/health/tidy" {
  capabilities = ["delete"]
}

path "coffer/alerts/tidy" {
  capabilities = ["delete"]
}

path "coffer/errors/tidy" {
  capabilities = ["delete"]
}

path "coffer/rotation/tidy" {
  capabilities = ["delete"]
}

path "sys/audit-trail/tidy" {
  capabilities = ["delete"]
}
