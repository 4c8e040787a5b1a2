/// Vault's system backend and auth methods' answers as a client reads them (Vault's field names), so the
/// tests check typed values rather than walking `[String: Any]`.
package enum Sys {
    /// An entry of `sys/auth` (the listing is keyed by mount path, `approle/`).
    package struct AuthMount: Decodable {
        package let type: String
        package let description: String
    }

    /// `sys/policies/acl/<name>`.
    package struct Policy: Decodable {
        package let name: String
        package let policy: String
    }

    /// `PUT sys/init`: the unseal keys (none for a passphrase) and the initial root token.
    package struct InitKeys: Decodable {
        package let keys: [String]
        package let keysBase64: [String]
        package let rootToken: String

        enum CodingKeys: String, CodingKey {
            case keys
            case keysBase64 = "keys_base64", rootToken = "root_token"
        }
    }

    /// `sys/seal-status` and `sys/unseal`'s answer.
    package struct SealStatus: Decodable {
        package let type: String
        package let sealed: Bool
        package let t: Int
        package let n: Int
        package let progress: Int
    }

    /// `auth/token/lookup-self` and `auth/token/lookup`.
    package struct TokenLookup: Decodable {
        package let id: String?
        package let accessor: String
        package let displayName: String
        package let orphan: Bool
        package let path: String
        package let policies: [String]
        package let ttl: Int
        package let creationTTL: Int
        /// Uses left; 0 when unlimited.
        package let numUses: Int

        enum CodingKeys: String, CodingKey {
            case id, accessor, orphan, path, policies, ttl
            case displayName = "display_name", creationTTL = "creation_ttl", numUses = "num_uses"
        }
    }
}

/// `sys/rewrap` (Coffer's addition, outside the envelope): one batch of re-encryption onto the active term.
package struct RewrapProgress: Decodable {
    package let rewrapped: Int
    package let retagged: Int
    package let remaining: Int
    package let retiredTerms: [Int]

    enum CodingKeys: String, CodingKey {
        case rewrapped, retagged, remaining
        case retiredTerms = "retired_terms"
    }
}
