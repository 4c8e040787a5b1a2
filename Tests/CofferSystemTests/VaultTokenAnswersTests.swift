import CofferServer
import CofferServerTesting
import CofferStore
import CofferTesting
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// Token answers as OpenBao 2.7.2 gives them (checked side by side, 2026-12-03): `lease_duration` is the TTL
/// granted (300 for "5m", 600 after renewing by "10m"), not what is left a moment later; a renewal by token
/// echoes it in `auth.client_token`; `lookup-self` echoes the caller's token as `id`, and `ttl` is what is left.
struct VaultTokenAnswersTests {
    @Test(arguments: TestDatabase.backends)
    func ttlsAsGrantedAndTokensEchoed(backend: TestBackend) async throws {
        try await withUnsealedServer(backend) { server, root in
            try await Application(router: server.makeRouter()).test(.router) { client in
                let (status, created) = try await client.answer(
                    UnreadData.self, "/v1/auth/token/create", token: root, ["ttl": "5m", "policies": ["default"]])
                let auth = try #require(created.auth, "\(status) \(created)")
                let token = auth.clientToken
                #expect(auth.leaseDuration == 300)

                let renewed = try await client.answer(
                    UnreadData.self, "/v1/auth/token/renew", token: root, ["token": token, "increment": "10m"])
                let renewedAuth = try #require(renewed.1.auth)
                #expect(renewedAuth.leaseDuration == 600 && renewedAuth.clientToken == token, "\(renewedAuth)")

                let looked = try await client.answer(Sys.TokenLookup.self, "/v1/auth/token/lookup-self", .get, token: token)
                let data = try #require(looked.1.data)
                #expect(data.id == token)
                #expect((590...600).contains(data.ttl) && data.creationTTL == 300, "\(data)")
            }
            // The echoed tokens are in the trail only as hashes.
            let fields = try await server.database.read { conn in
                try conn.query("SELECT fields FROM audit_log WHERE path IN ('auth/token/lookup-self', 'auth/token/renew')").map {
                    try $0.decode(String.self, at: 0)
                }
            }
            #expect(!fields.isEmpty && fields.allSatisfy { !$0.contains("cfs.") }, "a token reached the trail in the clear")
        }
    }
}
