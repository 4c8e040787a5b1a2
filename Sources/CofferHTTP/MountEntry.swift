public import CofferAccess
import CofferFoundation

/// A mount's entry as Vault's `sys/mounts` and `sys/auth` give it: a secrets engine or an auth method, with
/// the plugin fields Vault adds (every engine and method Coffer offers is built in, so there is no plugin
/// version and no plugin binary to hash).
public struct MountEntry: Encodable, Sendable {
    struct Config: Encodable, Sendable {
        let default_lease_ttl = 0
        let max_lease_ttl = 0
        let force_no_cache = false
        /// Auth methods only.
        let token_type: String?
    }
    let type: String
    public let description: String
    let accessor: String
    let uuid: String
    let options: [String: String]
    let config: Config
    let local = false
    let seal_wrap = false
    let external_entropy_access = false
    let plugin_version = ""
    let running_plugin_version = "v\(CofferVersion.current)+builtin.coffer"
    let running_sha256 = ""
    /// Absent for the built-in token method, as in Vault.
    let deprecation_status: String?

    /// An entry of the given kind; the engines' and auth methods' own initialisers say which fields they set.
    /// - Parameter deprecationStatus: `nil` leaves the field out, as Vault does for the built-in token method.
    public init(
        type: String, description: String, accessor: String, uuid: String, options: [String: String], tokenType: String?,
        deprecationStatus: String? = "supported"
    ) {
        self.type = type
        self.description = description
        self.accessor = accessor
        self.uuid = uuid
        self.options = options
        config = Config(token_type: tokenType)
        deprecation_status = deprecationStatus
    }

    /// An auth method enabled through `sys/auth`.
    public init(_ mount: AuthMount) {
        self.init(
            type: mount.type, description: mount.description, accessor: mount.accessor, uuid: mount.uuid, options: [:],
            tokenType: "default-service")
    }

    /// The built-in token method, which is not stored.
    public static let token = MountEntry(
        type: "token", description: "token based credentials", accessor: "auth_token", uuid: "00000000-0000-4000-8000-000000000000",
        options: [:], tokenType: "default-service", deprecationStatus: nil)
}

/// Vault's listing of mounts (`sys/mounts`, `sys/auth`): each entry at the top level and under `data`.
public struct MountList<Entry: Encodable>: Encodable {
    let data: [String: Entry]

    /// The entries by mount path (`secret/`, `auth/approle/`).
    public init(data: [String: Entry]) { self.data = data }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: DynamicKey.self)
        for (key, value) in data { try container.encode(value, forKey: DynamicKey(key)) }
        try VaultEnvelope(data: data).encode(to: encoder)
    }
}

/// A JSON object key that is data (a mount path), not a field name.
public struct DynamicKey: CodingKey {
    public let stringValue: String
    public var intValue: Int? { nil }
    public init(_ string: String) { stringValue = string }
    public init?(stringValue: String) { self.stringValue = stringValue }
    public init?(intValue: Int) { nil }
}
