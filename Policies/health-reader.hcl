# health-reader: read system health checks, results and alerts through /v1/coffer/health/..., change nothing.
path "coffer/health/*" {
  capabilities = ["read", "list"]
}

# The detail of every check and component (GET /v1/coffer/health).
path "coffer/health" {
  capabilities = ["read"]
}
