import CofferAccess
import CofferHTTP
import CofferServer
import CofferServerTesting
import CofferStore
import CofferTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// AppRole machine login in Vault's shapes.
struct AppRoleTests {
    /// `auth/approle/role/<name>` as a client reads it.
    struct Role: Decodable {
        let tokenPolicies: [String]
        let tokenTTL: Int
        enum CodingKeys: String, CodingKey { case tokenPolicies = "token_policies", tokenTTL = "token_ttl" }
    }

    struct RoleID: Decodable {
        let roleID: String
        enum CodingKeys: String, CodingKey { case roleID = "role_id" }
    }

    /// A new secret ID (`…/secret-id`).
    struct SecretID: Decodable {
        let secretID: String
        let accessor: String
        let numUses: Int?
        enum CodingKeys: String, CodingKey {
            case secretID = "secret_id", accessor = "secret_id_accessor", numUses = "secret_id_num_uses"
        }
    }

    func loginFlow(_ server: CofferServer, _ root: String) async throws {
        try await Application(router: server.makeRouter()).test(.router) { client in
            try await client.call(
                "/v1/sys/policies/acl/app-reader", .put, token: root, ["policy": "path \"sys/key-status\" { capabilities = [\"read\"] }"])
            #expect(
                try await client.call(
                    "/v1/auth/approle/role/app", .post, token: root,
                    [
                        "token_policies": ["app-reader"], "token_ttl": "10m", "token_max_ttl": "1h",
                        "secret_id_num_uses": 2, "secret_id_ttl": "1h"
                    ]
                ).0 == .noContent)
            let role = try #require(try await client.answer(Role.self, "/v1/auth/approle/role/app", .get, token: root).1.data)
            #expect(role.tokenPolicies == ["app-reader"] && role.tokenTTL == 600)
            let roleID = try #require(try await client.answer(RoleID.self, "/v1/auth/approle/role/app/role-id", .get, token: root).1.data)
                .roleID
            let (generated, secretBody) = try await client.answer(
                SecretID.self, "/v1/auth/approle/role/app/secret-id", .post, token: root, ["metadata": "{\"host\": \"web-1\"}"])
            #expect(generated == .ok)
            let secret = try #require(secretBody.data)
            let secretID = secret.secretID
            #expect(secret.numUses == 2)

            // Login: no token needed; the answer is Vault's auth block with the role's policies.
            let (loggedIn, loginBody) = try await client.answer(
                UnreadData.self, "/v1/auth/approle/login", .post, token: nil, ["role_id": roleID, "secret_id": secretID])
            #expect(loggedIn == .ok)
            let auth = try #require(loginBody.auth)
            #expect(auth.policies == ["app-reader", "default"])
            #expect(auth.leaseDuration <= 600 && auth.leaseDuration > 590)
            #expect(auth.metadata?["role_name"] == "app")
            let token = auth.clientToken
            #expect(try await client.call("/v1/sys/key-status", .get, token: token).0 == .ok)
            #expect(try await client.call("/v1/sys/policies/acl", .get, token: token).0 == .forbidden)

            // The secret ID's second use is its last; a third login fails with Vault's words.
            #expect(try await client.call("/v1/auth/approle/login", .post, token: nil, ["role_id": roleID, "secret_id": secretID]).0 == .ok)
            let (spent, spentBody) = try await client.answer(
                UnreadData.self, "/v1/auth/approle/login", .post, token: nil, ["role_id": roleID, "secret_id": secretID])
            #expect(spent == .badRequest)
            #expect(spentBody.errors == ["invalid role or secret ID"])
            // Lookup and destroy by accessor.
            let fresh = try #require(
                try await client.answer(SecretID.self, "/v1/auth/approle/role/app/secret-id", .post, token: root).1.data)
            let accessor = fresh.accessor
            #expect(
                try await client.call(
                    "/v1/auth/approle/role/app/secret-id-accessor/lookup", .post, token: root, ["secret_id_accessor": accessor]
                ).0 == .ok)
            #expect(
                try await client.call(
                    "/v1/auth/approle/role/app/secret-id/lookup", .post, token: root,
                    ["secret_id": fresh.secretID]
                ).0 == .ok)
            #expect(
                try await client.call(
                    "/v1/auth/approle/role/app/secret-id-accessor/destroy", .post, token: root, ["secret_id_accessor": accessor]
                ).0 == .noContent)
            #expect(
                try await client.call(
                    "/v1/auth/approle/login", .post, token: nil,
                    ["role_id": roleID, "secret_id": fresh.secretID]
                ).0 == .badRequest)
            // Secret IDs are stored hashed only.
            let stored = try await server.database.query("SELECT secret_hash, metadata FROM approle_secret_ids")
            for row in stored { #expect(!(try row.decode(String?.self, at: 1) ?? "").contains(secretID)) }
            // Bound to addresses the caller is not in: refused like a wrong secret.
            try await client.call(
                "/v1/auth/approle/role/bound", .post, token: root, ["token_policies": "app-reader", "secret_id_bound_cidrs": "10.0.0.0/8"])
            let boundID = try #require(
                try await client.answer(RoleID.self, "/v1/auth/approle/role/bound/role-id", .get, token: root).1.data
            )
            .roleID
            let boundSecret = try #require(
                try await client.answer(SecretID.self, "/v1/auth/approle/role/bound/secret-id", .post, token: root).1.data
            ).secretID
            #expect(
                try await client.call("/v1/auth/approle/login", .post, token: nil, ["role_id": boundID, "secret_id": boundSecret]).0
                    == .badRequest)
            // Bad role parameters: 400, nothing stored.
            #expect(
                try await client.call("/v1/auth/approle/role/bad", .post, token: root, ["secret_id_bound_cidrs": ["10.0.0.0/33"]]).0
                    == .badRequest)
            #expect(try await client.call("/v1/auth/approle/role/bad", .get, token: root).0 == .notFound)
        }
        #expect(try await server.verifyTrail().isIntact)
    }

    @Test(arguments: TestDatabase.backends)
    func loginFlow(_ backend: TestBackend) async throws { try await withUnsealedServer(backend, loginFlow) }

    /// Failed logins are limited per role and per address (429), and audited.
    @Test func failedLoginsAreRateLimited() async throws {
        try await withUnsealedServer { server, root in
            try await Application(router: server.makeRouter()).test(.router) { client in
                try await client.call("/v1/auth/approle/role/app", .post, token: root, ["token_policies": ["default"]])
                let (roleID, secretID) = try await client.appRoleCredentials(root, role: "app")
                for _ in 0..<AppRoleService.failuresPerMinute {
                    #expect(
                        try await client.call("/v1/auth/approle/login", .post, token: nil, ["role_id": roleID, "secret_id": "wrong"]).0
                            == .badRequest)
                }
                // Now even the right secret is refused for a while: the role is locked out.
                let (limited, body) = try await client.answer(
                    UnreadData.self, "/v1/auth/approle/login", .post, token: nil, ["role_id": roleID, "secret_id": secretID])
                #expect(limited == .tooManyRequests)
                #expect(body.errors?.first?.contains("try again") == true)
            }
            let failures = try await server.database.read {
                try $0.queryScalar(
                    Int.self,
                    "SELECT count(*) FROM audit_log WHERE path = 'auth/approle/login' AND kind = 'response' AND status IN (400, 429)")
            }
            #expect(failures == AppRoleService.failuresPerMinute + 1)
        }
    }

    /// Token and secret ID bound to addresses, over a real socket (the test client's address is 127.0.0.1).
    @Test func cidrBindingsOverARealConnection() async throws {
        try await withUnsealedServer { server, root in
            try await Application(router: server.makeRouter(), configuration: .init(address: .hostname("127.0.0.1", port: 0))).test(.live) {
                client in
                try await client.call(
                    "/v1/auth/approle/role/local", .post, token: root,
                    ["token_policies": ["default"], "secret_id_bound_cidrs": ["127.0.0.0/8"], "token_bound_cidrs": "127.0.0.1/32"])
                try await client.call(
                    "/v1/auth/approle/role/remote", .post, token: root,
                    ["token_policies": ["default"], "token_bound_cidrs": ["192.0.2.0/24"]])
                for (role, tokenWorks) in [("local", true), ("remote", false)] {
                    let (roleID, secretID) = try await client.appRoleCredentials(root, role: role)
                    let (status, body) = try await client.answer(
                        UnreadData.self, "/v1/auth/approle/login", .post, token: nil, ["role_id": roleID, "secret_id": secretID])
                    #expect(status == .ok, "\(role): \(body)")
                    let token = try #require(body.auth?.clientToken)
                    #expect(
                        try await client.call("/v1/auth/token/lookup-self", .get, token: token).0 == (tokenWorks ? .ok : .forbidden),
                        "\(role)")
                }
            }
        }
    }
}
