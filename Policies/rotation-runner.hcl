# rotation-runner: what `make rotate` needs and nothing more: run due rotations and see their state,
# read the credentials being rotated (to test new values), and manage the leases they issue.
path "coffer/rotation/*" {
  capabilities = ["read", "list", "rotate"]
}

path "secret/data/*" {
  capabilities = ["read"]
}

# Static database roles keep their passwords in the database engine's own mount.
path "database-static/data/*" {
  capabilities = ["read"]
}

path "secret/metadata/*" {
  capabilities = ["read", "list"]
}

path "sys/leases/lookup" {
  capabilities = ["update"]
}
