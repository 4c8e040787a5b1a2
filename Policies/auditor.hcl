# auditor: read and verify the audit trail, and nothing else (no secret, no token but its own).
path "sys/audit-trail/*" {
  capabilities = ["read", "list", "audit"]
}

# Secrets are denied explicitly, so that a broad grant added to the same token later cannot leak them.
path "secret/*" {
  capabilities = ["deny"]
}
