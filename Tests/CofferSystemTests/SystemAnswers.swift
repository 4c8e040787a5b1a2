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

/// The AppRole method's answers (Vault's field names).
enum AppRole {
    /// `auth/<mount>/role/<name>`.
    struct Role: Decodable {
        let tokenType: String
        let tokenTTL: Int

        enum CodingKeys: String, CodingKey {
            case tokenType = "token_type", tokenTTL = "token_ttl"
        }
    }

    /// `auth/<mount>/role/<name>/role-id`.
    struct RoleID: Decodable {
        let roleID: String

        enum CodingKeys: String, CodingKey { case roleID = "role_id" }
    }

    /// A new secret ID (`…/secret-id`, `…/custom-secret-id`).
    struct SecretID: Decodable {
        let secretID: String
        let secretIDAccessor: String

        enum CodingKeys: String, CodingKey {
            case secretID = "secret_id", secretIDAccessor = "secret_id_accessor"
        }
    }
}

extension TestClientProtocol {
    /// A role's role ID and a new secret ID at `auth/<mount>/role/<role>`, as `token`.
    func appRoleCredentials(_ token: String, role: String, mount: String = "approle") async throws -> (roleID: String, secretID: String) {
        let roleID = try #require(
            try await answer(AppRole.RoleID.self, "/v1/auth/\(mount)/role/\(role)/role-id", .get, token: token).1.data, "role id of \(role)"
        )
        let secretID = try #require(
            try await answer(AppRole.SecretID.self, "/v1/auth/\(mount)/role/\(role)/secret-id", .post, token: token).1.data,
            "secret id of \(role)")
        return (roleID.roleID, secretID.secretID)
    }
}
