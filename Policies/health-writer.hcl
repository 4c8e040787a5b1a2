# health-writer: read and write system health checks, results and alerts through /v1/coffer/health/...; no other module, no secret.
path "coffer/health/*" {
  capabilities = ["create", "read", "update", "patch", "delete", "list"]
}

# The detail of every check and component (GET /v1/coffer/health).
path "coffer/health" {
  capabilities = ["read"]
}
