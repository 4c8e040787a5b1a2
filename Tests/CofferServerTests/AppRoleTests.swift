import CofferAccess
import CofferServer
import CofferStore
import CofferTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// AppRole machine login in Vault's shapes.
struct AppRoleTests {
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
            let (_, roleBody) = try await client.call("/v1/auth/approle/role/app", .get, token: root)
            let role = try #require(roleBody["data"] as? [String: Any])
            #expect(role["token_policies"] as? [String] == ["app-reader"] && role["token_ttl"] as? Int == 600)
            let (_, idBody) = try await client.call("/v1/auth/approle/role/app/role-id", .get, token: root)
            let roleID = try #require((idBody["data"] as? [String: Any])?["role_id"] as? String)
            let (generated, secretBody) = try await client.call(
                "/v1/auth/approle/role/app/secret-id", .post, token: root,
                ["metadata": "{\"host\": \"web-1\"}"])
            #expect(generated == .ok)
            let secret = try #require(secretBody["data"] as? [String: Any])
            let secretID = try #require(secret["secret_id"] as? String)
            #expect(secret["secret_id_num_uses"] as? Int == 2)

            // Login: no token needed; the answer is Vault's auth block with the role's policies.
            let (loggedIn, loginBody) = try await client.call(
                "/v1/auth/approle/login", .post, token: nil, ["role_id": roleID, "secret_id": secretID])
            #expect(loggedIn == .ok)
            let auth = try #require(loginBody["auth"] as? [String: Any])
            #expect(auth["policies"] as? [String] == ["app-reader", "default"])
            #expect((auth["lease_duration"] as? Int ?? 0) <= 600 && (auth["lease_duration"] as? Int ?? 0) > 590)
            #expect((auth["metadata"] as? [String: String])?["role_name"] == "app")
            let token = try #require(auth["client_token"] as? String)
            #expect(try await client.call("/v1/sys/key-status", .get, token: token).0 == .ok)
            #expect(try await client.call("/v1/sys/policies/acl", .get, token: token).0 == .forbidden)

            // The secret ID's second use is its last; a third login fails with Vault's words.
            #expect(try await client.call("/v1/auth/approle/login", .post, token: nil, ["role_id": roleID, "secret_id": secretID]).0 == .ok)
            let (spent, spentBody) = try await client.call(
                "/v1/auth/approle/login", .post, token: nil, ["role_id": roleID, "secret_id": secretID])
            #expect(spent == .badRequest)
            #expect(spentBody["errors"] as? [String] == ["invalid role or secret ID"])
            // Lookup and destroy by accessor.
            let fresh = try #require(
                (try await client.call("/v1/auth/approle/role/app/secret-id", .post, token: root).1["data"] as? [String: Any]))
            let accessor = try #require(fresh["secret_id_accessor"] as? String)
            #expect(
                try await client.call(
                    "/v1/auth/approle/role/app/secret-id-accessor/lookup", .post, token: root, ["secret_id_accessor": accessor]
                ).0 == .ok)
            #expect(
                try await client.call(
                    "/v1/auth/approle/role/app/secret-id/lookup", .post, token: root,
                    ["secret_id": try #require(fresh["secret_id"] as? String)]
                ).0 == .ok)
            #expect(
                try await client.call(
                    "/v1/auth/approle/role/app/secret-id-accessor/destroy", .post, token: root, ["secret_id_accessor": accessor]
                ).0 == .noContent)
            #expect(
                try await client.call(
                    "/v1/auth/approle/login", .post, token: nil,
                    ["role_id": roleID, "secret_id": try #require(fresh["secret_id"] as? String)]
                ).0 == .badRequest)
            // Secret IDs are stored hashed only.
            let stored = try await server.database.query("SELECT secret_hash, metadata FROM approle_secret_ids")
            for row in stored { #expect(!(try row.decode(String?.self, at: 1) ?? "").contains(secretID)) }
            // Bound to addresses the caller is not in: refused like a wrong secret.
            try await client.call(
                "/v1/auth/approle/role/bound", .post, token: root, ["token_policies": "app-reader", "secret_id_bound_cidrs": "10.0.0.0/8"])
            let boundID = try #require(
                (try await client.call("/v1/auth/approle/role/bound/role-id", .get, token: root).1["data"] as? [String: Any])?["role_id"]
                    as? String)
            let boundSecret = try #require(
                (try await client.call("/v1/auth/approle/role/bound/secret-id", .post, token: root).1["data"] as? [String: Any])?[
                    "secret_id"] as? String)
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
                let roleID = try #require(
                    (try await client.call("/v1/auth/approle/role/app/role-id", .get, token: root).1["data"] as? [String: Any])?["role_id"]
                        as? String)
                let secretID = try #require(
                    (try await client.call("/v1/auth/approle/role/app/secret-id", .post, token: root).1["data"] as? [String: Any])?[
                        "secret_id"] as? String)
                for _ in 0..<AppRoleService.failuresPerMinute {
                    #expect(
                        try await client.call("/v1/auth/approle/login", .post, token: nil, ["role_id": roleID, "secret_id": "wrong"]).0
                            == .badRequest)
                }
                // Now even the right secret is refused for a while: the role is locked out.
                let (limited, body) = try await client.call(
                    "/v1/auth/approle/login", .post, token: nil, ["role_id": roleID, "secret_id": secretID])
                #expect(limited == .tooManyRequests)
                #expect((body["errors"] as? [String])?.first?.contains("try again") == true)
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
                    let roleID = try #require(
                        (try await client.call("/v1/auth/approle/role/\(role)/role-id", .get, token: root).1["data"] as? [String: Any])?[
                            "role_id"] as? String)
                    let secretID = try #require(
                        (try await client.call("/v1/auth/approle/role/\(role)/secret-id", .post, token: root).1["data"] as? [String: Any])?[
                            "secret_id"] as? String)
                    let (status, body) = try await client.call(
                        "/v1/auth/approle/login", .post, token: nil, ["role_id": roleID, "secret_id": secretID])
                    #expect(status == .ok, "\(role): \(body)")
                    let token = try #require((body["auth"] as? [String: Any])?["client_token"] as? String)
                    #expect(
                        try await client.call("/v1/auth/token/lookup-self", .get, token: token).0 == (tokenWorks ? .ok : .forbidden),
                        "\(role)")
                }
            }
        }
    }
}
