# metrics-writer: read and write system metrics (system_metrics and rollups) through /v1/coffer/metrics/...; no other module, no secret.
path "coffer/metrics/*" {
  capabilities = ["create", "read", "update", "patch", "delete", "list"]
}
