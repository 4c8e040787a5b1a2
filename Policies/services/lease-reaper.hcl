# service lease-reaper: revokes expired leases, in batches.
path "sys/leases/tidy" {
  capabilities = ["delete"]
}
