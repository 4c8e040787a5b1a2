# cache-reader: read the persistent cache (cache_entries) through /v1/coffer/cache/..., change nothing.
path "coffer/cache/*" {
  capabilities = ["read", "list"]
}
