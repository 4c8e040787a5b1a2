import HTTPTypes
package import HummingbirdTesting

/// The AppRole method's answers (Vault's field names).
package enum AppRole {
    /// `auth/<mount>/role/<name>`.
    package struct Role: Decodable {
        package let tokenType: String
        package let tokenTTL: Int

        enum CodingKeys: String, CodingKey {
            case tokenType = "token_type", tokenTTL = "token_ttl"
        }
    }

    /// `auth/<mount>/role/<name>/role-id`.
    package struct RoleID: Decodable {
        package let roleID: String

        enum CodingKeys: String, CodingKey { case roleID = "role_id" }
    }

    /// A new secret ID (`…/secret-id`, `…/custom-secret-id`).
    package struct SecretID: Decodable {
        package let secretID: String
        package let secretIDAccessor: String

        enum CodingKeys: String, CodingKey {
            case secretID = "secret_id", secretIDAccessor = "secret_id_accessor"
        }
    }
}

extension TestClientProtocol {
    /// A role's role ID and a new secret ID at `auth/<mount>/role/<role>`, as `token`.
    package func appRoleCredentials(_ token: String, role: String, mount: String = "approle") async throws -> (
        roleID: String, secretID: String
    ) {
        let roleID = try required(
            try await answer(AppRole.RoleID.self, "/v1/auth/\(mount)/role/\(role)/role-id", .get, token: token).1.data, "role id of \(role)"
        )
        let secretID = try required(
            try await answer(AppRole.SecretID.self, "/v1/auth/\(mount)/role/\(role)/secret-id", .post, token: token).1.data,
            "secret id of \(role)")
        return (roleID.roleID, secretID.secretID)
    }
}
