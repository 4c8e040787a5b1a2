# admin: everything, as Vault's root policy allows. Give it to break-glass operators only.
path "*" {
  capabilities = ["create", "read", "update", "patch", "delete", "list", "sudo", "rotate", "audit"]
}
