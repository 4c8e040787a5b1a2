# metrics-reader: read system metrics (system_metrics and rollups) through /v1/coffer/metrics/..., change nothing.
path "coffer/metrics/*" {
  capabilities = ["read", "list"]
}
