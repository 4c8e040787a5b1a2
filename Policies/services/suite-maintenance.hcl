# service suite-maintenance: the persistence suite's housekeeping. It warms the feature cache, writes
# Coffer's own metrics and error events, and tidies expired cache entries, old features and metrics.
path "coffer/cache/warm-up" {
  capabilities = ["read"]
}

path "coffer/metrics/points" {
  capabilities = ["create", "update"]
}

path "coffer/errors/events" {
  capabilities = ["create", "update"]
}

path "coffer/cache/tidy" {
  capabilities = ["delete"]
}

path "coffer/features/tidy" {
  capabilities = ["delete"]
}

path "coffer/metrics/tidy" {
  capabilities = ["delete"]
}
