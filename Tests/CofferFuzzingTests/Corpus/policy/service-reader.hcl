# service-reader: a template for a service that reads one secret subtree (copy it per service and
# replace "app" with the service's subtree). Reading versions and listing its own keys; nothing else.
path "secret/data/app/*" {
  capabilities = ["read"]
}

path "secret/metadata/app/*" {
  capabilities = ["read", "list"]
}
