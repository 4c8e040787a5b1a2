# auditor: read, query and verify the audit trail, and nothing else (no secret, no token but its own).
path "sys/audit-trail/*" {
  capabilities = ["read", "list", "audit"]
}

# Hashing a known value to look for it in the trail (`coffer audit hash`) is a POST.
path "sys/audit-trail/hash" {
  capabilities = ["update", "audit"]
}

# Secrets are denied explicitly, so that a broad grant added to the same token later cannot leak them.
path "secret/*" {
  capabilities = ["deny"]
}
