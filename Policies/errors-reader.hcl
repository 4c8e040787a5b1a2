# errors-reader: read error logs (error_logs and their issues) through /v1/coffer/errors/..., change nothing.
path "coffer/errors/*" {
  capabilities = ["read", "list"]
}
