import CofferServerTesting
import HTTPTypes
import HummingbirdTesting
import Testing

/// Vault's system backend and auth methods' answers as a client reads them (Vault's field names), so the
/// tests check typed values rather than walking `[String: Any]`.
enum Sys {
    /// An entry of `sys/auth` (the listing is keyed by mount path, `approle/`).
    struct AuthMount: Decodable {
        let type: String
        let description: String
    }

    /// `sys/policies/acl/<name>`.
    struct Policy: Decodable {
        let name: String
        let policy: String
    }

    /// `auth/token/lookup-self` and `auth/token/lookup`.
    struct TokenLookup: Decodable {
        let id: String?
        let path: String
        let policies: [String]
        let ttl: Int
        let creationTTL: Int

        enum CodingKeys: String, CodingKey {
            case id, path, policies, ttl
            case creationTTL = "creation_ttl"
        }
    }
}
