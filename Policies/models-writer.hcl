# models-writer: read and write the model registry (ml_model_registry and its artifact blobs) through /v1/coffer/models/...; no other module, no secret.
path "coffer/models/*" {
  capabilities = ["create", "read", "update", "patch", "delete", "list"]
}
