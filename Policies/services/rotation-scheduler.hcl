# service rotation-scheduler: runs the rotations that are due, on its own (what `make rotate` does with a
# rotation-runner token). Each credential's rotation settings were authorised when they were written
# (RotationAuthority: the writer needed the rights its settings use), so the scheduler may act on every
# credential with a rotator and read the admin secrets those settings name; it cannot write a secret, list
# one, or change a policy, a token or a setting.
path "coffer/rotation/run" {
  capabilities = ["rotate"]
}

path "coffer/rotation/rotate/*" {
  capabilities = ["rotate"]
}

# admin_secret: the mount/path of a secret holding the admin connection of a postgres-password rotator.
path "+/data/*" {
  capabilities = ["read"]
}
