# service health-runner: Coffer's own health checker and alert evaluator. It reads the checks that are
# due, records their results, keeps the built-in coffer check, evaluates the alert rules, and reads the
# credentials of postgres checks, which live under secret/health-checks/ and nowhere else.
path "coffer/health/checks" {
  capabilities = ["read", "create", "update"]
}

path "coffer/health/results" {
  capabilities = ["create", "update"]
}

path "coffer/health/alerts/evaluate" {
  capabilities = ["create", "update"]
}

path "secret/data/health-checks/*" {
  capabilities = ["read"]
}
