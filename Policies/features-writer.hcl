# features-writer: read and write the feature cache (feature_cache) through /v1/coffer/features/...; no other module, no secret.
path "coffer/features/*" {
  capabilities = ["create", "read", "update", "patch", "delete", "list"]
}
