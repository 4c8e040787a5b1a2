# features-reader: read the feature cache (feature_cache) through /v1/coffer/features/..., change nothing.
path "coffer/features/*" {
  capabilities = ["read", "list"]
}
