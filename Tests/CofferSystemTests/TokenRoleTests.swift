import CofferHTTP
import CofferServer
import CofferServerTesting
import CofferTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// Periodic tokens and token roles as Vault has them: a periodic token's renewal always sets its TTL to the
/// period; a role lets a caller allowed to use it issue exactly the role's policies, never more, never root.
struct TokenRoleTests {
    /// The parts of `auth/token/lookup-self` these tests read.
    struct Lookup: Decodable {
        let period: Int?
        let lastRenewal: String?
        let lastRenewalTime: Int?
        let path: String
        let role: String?
        enum CodingKeys: String, CodingKey {
            case period, lastRenewal = "last_renewal", lastRenewalTime = "last_renewal_time", path, role
        }
    }

    @Test(arguments: TestDatabase.backends)
    func periodicTokensAndRoles(_ backend: TestBackend) async throws {
        try await withUnsealedServer(backend) { server, root in
            try await Application(router: server.makeRouter()).test(.router) { client in
                // Periodic: the TTL is the period at creation and after every renewal, whatever the increment.
                let created = try #require(
                    try await client.answer(
                        UnreadData.self, "/v1/auth/token/create", token: root, ["policies": ["default"], "period": "1h", "ttl": "5m"]
                    ).1.auth)
                let periodic = created.clientToken
                #expect(created.leaseDuration == 3600)
                let renewed = try await client.answer(UnreadData.self, "/v1/auth/token/renew-self", token: periodic, ["increment": "10m"]).1
                #expect(renewed.auth?.leaseDuration == 3600, "\(renewed.errors ?? [])")
                let data = try #require(try await client.answer(Lookup.self, "/v1/auth/token/lookup-self", .get, token: periodic).1.data)
                #expect(data.period == 3600 && data.lastRenewal != nil && data.lastRenewalTime != nil, "\(data)")

                // Without root or sudo, no periodic token and no orphan through the plain create path.
                #expect(
                    try await client.call(
                        "/v1/sys/policies/acl/maker", .put, token: root,
                        [
                            "policy": """
                            path "auth/token/create" { capabilities = ["update"] }
                            path "auth/token/create/ci" { capabilities = ["update"] }
                            path "secret/data/mine/*" { capabilities = ["read"] }
                            """
                        ]
                    ).0 == .noContent)
                #expect(
                    try await client.call(
                        "/v1/sys/policies/acl/deploy", .put, token: root,
                        ["policy": #"path "secret/data/deploy/*" { capabilities = ["read"] }"#]
                    ).0 == .noContent)
                let maker = try await client.createToken(parent: root, ["policies": ["maker"], "ttl": "1h"]).token
                let (refused, refusedBody) = try await client.call("/v1/auth/token/create", token: maker, ["period": "1h"])
                #expect(refused == .badRequest && "\(refusedBody)".contains("periodic"))
                #expect(try await client.call("/v1/auth/token/create", token: maker, ["policies": ["deploy"]]).0 == .badRequest)

                // A role issues its allowed policies to a caller that does not hold them, as an orphan with the
                // role's period and maximum, at the role's path.
                #expect(
                    try await client.call(
                        "/v1/auth/token/roles/ci", token: root,
                        [
                            "allowed_policies": ["deploy"], "disallowed_policies": "maker", "orphan": true, "token_period": "20m",
                            "token_explicit_max_ttl": "30m", "path_suffix": "nightly"
                        ]
                    ).0 == .noContent)
                let (made, madeBody) = try await client.answer(
                    UnreadData.self, "/v1/auth/token/create/ci", token: maker, ["policies": ["deploy"]])
                #expect(made == .ok, "\(madeBody.errors ?? [])")
                let auth = try #require(madeBody.auth)
                #expect(auth.policies == ["default", "deploy"] && auth.orphan == true && auth.leaseDuration == 1200)
                let issued = auth.clientToken
                let issuedData = try #require(
                    try await client.answer(Lookup.self, "/v1/auth/token/lookup-self", .get, token: issued).1.data)
                #expect(issuedData.path == "auth/token/create/ci/nightly" && issuedData.role == "ci", "\(issuedData)")
                // The explicit maximum ends renewals of a periodic token: 30 minutes, not 20 more each time.
                let again = try await client.answer(UnreadData.self, "/v1/auth/token/renew-self", token: issued, [:]).1
                #expect((again.auth?.leaseDuration ?? 0) <= 1800)

                // Never more than the role allows, never what it disallows, never root.
                #expect(try await client.call("/v1/auth/token/create/ci", token: maker, ["policies": ["maker"]]).0 == .badRequest)
                #expect(try await client.call("/v1/auth/token/create/ci", token: maker, ["policies": ["root"]]).0 == .badRequest)
                #expect(try await client.call("/v1/auth/token/roles/open", token: root, ["allowed_policies": "root"]).0 == .noContent)
                #expect(
                    try await client.call(
                        "/v1/sys/policies/acl/maker2", .put, token: root,
                        ["policy": #"path "auth/token/create/open" { capabilities = ["update"] }"#]
                    ).0 == .noContent)
                let maker2 = try await client.createToken(parent: root, ["policies": ["maker2"]]).token
                let (rootRefused, rootBody) = try await client.call("/v1/auth/token/create/open", token: maker2, [:])
                #expect(rootRefused == .badRequest && "\(rootBody)".contains("root tokens may not be created"), "\(rootBody)")
                // Using a role is a policy decision on its path.
                #expect(try await client.call("/v1/auth/token/create/open", token: maker, [:]).0 == .forbidden)
                #expect(try await client.call("/v1/auth/token/roles/ci", .get, token: maker).0 == .forbidden)

                #expect(try await client.call("/v1/auth/token/roles/ci", .delete, token: root).0 == .noContent)
                let (unknown, unknownBody) = try await client.call("/v1/auth/token/create/ci", token: root, [:])
                #expect(unknown == .badRequest && "\(unknownBody)".contains("unknown role ci"))
                // A token made from a role outlives it, as in Vault.
                #expect(try await client.call("/v1/auth/token/lookup-self", .get, token: issued).0 == .ok)
            }
        }
    }
}
