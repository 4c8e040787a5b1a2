import CofferAccess
import CofferCredentials
import CofferHTTP

/// A mount's entry as Vault's `sys/mounts` and `sys/auth` give it: a secrets engine or an auth method, with
/// the plugin fields Vault adds (every engine and method Coffer offers is built in, so there is no plugin
/// version and no plugin binary to hash).
struct MountEntry: Encodable {
    struct Config: Encodable {
        let default_lease_ttl = 0
        let max_lease_ttl = 0
        let force_no_cache = false
        /// Auth methods only.
        let token_type: String?
    }
    let type: String
    let description: String
    let accessor: String
    let uuid: String
    let options: [String: String]
    let config: Config
    let local = false
    let seal_wrap = false
    let external_entropy_access = false
    let plugin_version = ""
    let running_plugin_version = "v\(HealthCheck.version)+builtin.coffer"
    let running_sha256 = ""
    /// Absent for the built-in token method, as in Vault.
    let deprecation_status: String?

    /// A KV engine.
    init(_ mount: KVMount) {
        type = "kv"
        description = mount.description
        accessor = mount.accessor
        uuid = mount.uuid
        options = ["version": String(mount.version)]
        config = Config(token_type: nil)
        deprecation_status = "supported"
    }

    /// An auth method enabled through `sys/auth`.
    init(_ mount: AuthMount) {
        type = mount.type
        description = mount.description
        accessor = mount.accessor
        uuid = mount.uuid
        options = [:]
        config = Config(token_type: "default-service")
        deprecation_status = "supported"
    }

    private init(token: Void) {
        type = "token"
        description = "token based credentials"
        accessor = "auth_token"
        uuid = "00000000-0000-4000-8000-000000000000"
        options = [:]
        config = Config(token_type: "default-service")
        deprecation_status = nil
    }

    /// The built-in token method, which is not stored.
    static let token = MountEntry(token: ())
}
