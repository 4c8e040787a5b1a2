import CofferAccess
import CofferServer
import CofferServerTesting
import CofferStore
import CofferTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// Auth methods at any path (`sys/auth`): AppRole enabled several times under chosen names, each with its own
/// roles, role IDs and secret IDs, Vault's custom role and secret IDs, secret-ID metadata on the token, and a
/// disable that takes every token the method issued with it.
struct AuthMethodTests {
    static let list = HTTPRequest.Method("LIST")!

    @Test(arguments: TestDatabase.backends)
    func appRoleAtAnyPath(_ backend: TestBackend) async throws {
        try await withUnsealedServer(backend) { server, root in
            try await Application(router: server.makeRouter()).test(.router) { client in
                #expect(
                    try await client.call("/v1/sys/auth/ci-approle", token: root, ["type": "approle", "description": "CI"]).0 == .noContent)
                let (taken, takenBody) = try await client.answer(
                    UnreadData.self, "/v1/sys/auth/ci-approle", token: root, ["type": "approle"])
                #expect(taken == .badRequest && (takenBody.errors ?? []).joined().contains("already in use"))
                #expect(try await client.call("/v1/sys/auth/other", token: root, ["type": "ldap"]).0 == .badRequest)
                #expect(try await client.call("/v1/sys/auth/token", token: root, ["type": "approle"]).0 == .badRequest)
                let listed = try #require(try await client.answer([String: Sys.AuthMount].self, "/v1/sys/auth", .get, token: root).1.data)
                #expect(Set(listed.keys) == ["token/", "approle/", "ci-approle/"], "\(listed.keys)")
                #expect(listed["ci-approle/"]?.description == "CI" && listed["ci-approle/"]?.type == "approle")

                // The same role name at two mounts: two roles, each with its own role ID and secret IDs.
                for mount in ["approle", "ci-approle"] {
                    #expect(
                        try await client.call(
                            "/v1/auth/\(mount)/role/builder", token: root, ["token_policies": "default", "token_ttl": "10m"]
                        ).0 == .noContent)
                }
                let role = try #require(
                    try await client.answer(AppRole.Role.self, "/v1/auth/ci-approle/role/builder", .get, token: root).1.data)
                #expect(role.tokenType == "default" && role.tokenTTL == 600, "\(role)")
                #expect(
                    try await client.call("/v1/auth/ci-approle/role/builder/role-id", token: root, ["role_id": "builder-ci"]).0
                        == .noContent)
                let roleID = try await client.answer(AppRole.RoleID.self, "/v1/auth/ci-approle/role/builder/role-id", .get, token: root)
                #expect(roleID.1.data?.roleID == "builder-ci")
                let otherRoleID = try await client.answer(AppRole.RoleID.self, "/v1/auth/approle/role/builder/role-id", .get, token: root)
                #expect(otherRoleID.1.data?.roleID.isEmpty == false && otherRoleID.1.data?.roleID != "builder-ci")

                // A custom secret ID: too short and already taken are refused, and nothing is replaced.
                let (short, shortBody) = try await client.answer(
                    UnreadData.self, "/v1/auth/ci-approle/role/builder/custom-secret-id", token: root, ["secret_id": "short"])
                #expect(short == .badRequest && (shortBody.errors ?? []).joined().contains("16 to 256 bytes"))
                let secret = "ci-secret-" + UUID().uuidString
                let (made, madeBody) = try await client.answer(
                    AppRole.SecretID.self, "/v1/auth/ci-approle/role/builder/custom-secret-id", token: root,
                    ["secret_id": secret, "metadata": #"{"pipeline":"nightly"}"#])
                #expect(made == .ok && madeBody.data?.secretID == secret, "\(madeBody)")
                #expect(
                    try await client.call("/v1/auth/ci-approle/role/builder/custom-secret-id", token: root, ["secret_id": secret]).0
                        == .badRequest)

                // Credentials of one mount do not log in at another.
                #expect(
                    try await client.call("/v1/auth/approle/login", token: nil, ["role_id": "builder-ci", "secret_id": secret]).0
                        == .badRequest)
                let (login, loginBody) = try await client.answer(
                    UnreadData.self, "/v1/auth/ci-approle/login", token: nil, ["role_id": "builder-ci", "secret_id": secret])
                #expect(login == .ok, "\(loginBody)")
                let auth = try #require(loginBody.auth)
                #expect(auth.metadata == ["pipeline": "nightly", "role_name": "builder"], "\(auth)")
                let issued = auth.clientToken
                let lookup = try await client.answer(Sys.TokenLookup.self, "/v1/auth/token/lookup-self", .get, token: issued)
                #expect(lookup.1.data?.path == "auth/ci-approle/login")

                // Vault answers 204 for a secret ID it does not know, destroyed ones included.
                #expect(
                    try await client.call("/v1/auth/ci-approle/role/builder/secret-id/lookup", token: root, ["secret_id": secret]).0 == .ok)
                #expect(
                    try await client.call("/v1/auth/ci-approle/role/builder/secret-id/destroy", token: root, ["secret_id": secret]).0
                        == .noContent)
                #expect(
                    try await client.call("/v1/auth/ci-approle/role/builder/secret-id/lookup", token: root, ["secret_id": secret]).0
                        == .noContent)

                // Tidy drops expired secret IDs of its mount only.
                let expiringAccessor = try #require(
                    try await client.answer(AppRole.SecretID.self, "/v1/auth/ci-approle/role/builder/secret-id", token: root, [:]).1.data
                ).secretIDAccessor
                let keptAccessor = try #require(
                    try await client.answer(AppRole.SecretID.self, "/v1/auth/approle/role/builder/secret-id", token: root, [:]).1.data
                ).secretIDAccessor
                try await server.database.execute(
                    """
                    UPDATE approle_secret_ids SET expires_at = \(Date(timeIntervalSinceNow: -60)) WHERE accessor IN
                    (\(expiringAccessor), \(keptAccessor))
                    """
                )
                #expect(try await client.call("/v1/auth/ci-approle/tidy/secret-id", token: root, [:]).0 == .accepted)
                #expect(try await client.call("/v1/auth/ci-approle/role/builder/secret-id", Self.list, token: root).0 == .notFound)
                let keptList = try await client.answer(KV.Keys.self, "/v1/auth/approle/role/builder/secret-id", Self.list, token: root)
                #expect(keptList.1.data?.keys == [keptAccessor])

                // Disabling the method revokes what it issued and forgets its roles; the other mount is untouched.
                #expect(try await client.call("/v1/sys/auth/ci-approle", .delete, token: root).0 == .noContent)
                #expect(try await client.call("/v1/auth/token/lookup-self", .get, token: issued).0 == .forbidden)
                #expect(try await client.call("/v1/auth/ci-approle/role/builder", .get, token: root).0 == .notFound)
                #expect(try await client.call("/v1/auth/approle/role/builder", .get, token: root).0 == .ok)
            }
        }
    }

    /// A policy names a role by its mount: rights on one AppRole mount give none on another.
    @Test func policiesNameTheMount() async throws {
        try await withUnsealedServer { server, root in
            try await Application(router: server.makeRouter()).test(.router) { client in
                #expect(try await client.call("/v1/sys/auth/team", token: root, ["type": "approle"]).0 == .noContent)
                let policy = #"path "auth/team/role/*" { capabilities = ["create", "read", "update"] }"#
                #expect(try await client.call("/v1/sys/policies/acl/team-admin", .put, token: root, ["policy": policy]).0 == .noContent)
                let admin = try await client.createToken(parent: root, ["policies": ["team-admin"]]).token
                #expect(try await client.call("/v1/auth/team/role/app", token: admin, ["token_policies": "default"]).0 == .noContent)
                #expect(try await client.call("/v1/auth/approle/role/app", token: admin, ["token_policies": "default"]).0 == .forbidden)
                #expect(try await client.call("/v1/sys/auth/other", token: admin, ["type": "approle"]).0 == .forbidden)
                #expect(try await client.call("/v1/sys/auth/team", .delete, token: admin).0 == .forbidden)
            }
        }
    }
}
