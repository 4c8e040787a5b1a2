# default: what every token may do with itself (Vault's default policy, the token part).
path "auth/token/lookup-self" {
  capabilities = ["read"]
}

path "auth/token/renew-self" {
  capabilities = ["update"]
}

path "auth/token/revoke-self" {
  capabilities = ["update"]
}

# Unwrapping a response-wrapped secret handed to this token.
path "sys/wrapping/unwrap" {
  capabilities = ["update"]
}

# What this token may do on paths it asks about (Vault's default policy allows it too).
path "sys/capabilities-self" {
  capabilities = ["update"]
}
