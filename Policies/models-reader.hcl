# models-reader: read the model registry (ml_model_registry and its artifact blobs) through /v1/coffer/models/..., change nothing.
path "coffer/models/*" {
  capabilities = ["read", "list"]
}
