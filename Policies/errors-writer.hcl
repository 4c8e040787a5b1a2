# errors-writer: read and write error logs (error_logs and their issues) through /v1/coffer/errors/...; no other module, no secret.
path "coffer/errors/*" {
  capabilities = ["create", "read", "update", "patch", "delete", "list"]
}
