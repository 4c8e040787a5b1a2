# cache-writer: read and write the persistent cache (cache_entries) through /v1/coffer/cache/...; no other module, no secret.
path "coffer/cache/*" {
  capabilities = ["create", "read", "update", "patch", "delete", "list"]
}
