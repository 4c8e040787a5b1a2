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

/// A wrapped response is sealed to its wrapping token's hash: a database writer who swaps two rows' token
/// hashes cannot unwrap the other's response with their own token; and a rewrap onto a new key term keeps it
/// working.
struct WrappingBindingTests {
    private func wrap(_ client: some TestClientProtocol, _ root: String, _ path: String) async throws -> String {
        try await client.execute(
            uri: "/v1/secret/data/\(path)", method: .get,
            headers: [vaultToken: root, HTTPField.Name("X-Vault-Wrap-TTL")!: "5m"]
        ) { response in
            try #require(try VaultAnswer<UnreadData>(body: response.body).wrapInfo?.token)
        }
    }

    @Test(arguments: TestDatabase.backends)
    func swappedTokenHashesOpenNothing(_ backend: TestBackend) async throws {
        try await withUnsealedServer(backend) { server, root in
            try await Application(router: server.makeRouter()).test(.router) { client in
                #expect(try await client.call("/v1/secret/data/victim", token: root, ["data": ["password": "s3cret-victim"]]).0 == .ok)
                #expect(try await client.call("/v1/secret/data/mine", token: root, ["data": ["password": "mine"]]).0 == .ok)
                let victims = try await wrap(client, root, "victim")
                let mine = try await wrap(client, root, "mine")
                // Swap the two rows' token hashes underneath the service.
                try await server.database.transaction { conn in
                    let rows = try conn.query("SELECT accessor, token_hash FROM wrapped_responses ORDER BY created_at, accessor")
                    let (a, b) = (try rows[0].decode(String.self, at: 0), try rows[1].decode(String.self, at: 0))
                    let (ha, hb) = (try rows[0].decode([UInt8].self, at: 1), try rows[1].decode([UInt8].self, at: 1))
                    try conn.execute("UPDATE wrapped_responses SET token_hash = \([UInt8](repeating: 0, count: 32)) WHERE accessor = \(a)")
                    try conn.execute("UPDATE wrapped_responses SET token_hash = \(ha) WHERE accessor = \(b)")
                    try conn.execute("UPDATE wrapped_responses SET token_hash = \(hb) WHERE accessor = \(a)")
                }
                for token in [mine, victims] {
                    let (status, body) = try await client.call("/v1/sys/wrapping/unwrap", token: token, [:])
                    #expect(status != .ok && !"\(body)".contains("s3cret-victim") && !"\(body)".contains("\"mine\""), "\(status) \(body)")
                }
            }
        }
    }

    @Test func rewrapOntoANewTermKeepsWrappedResponses() async throws {
        try await withUnsealedServer { server, root in
            try await Application(router: server.makeRouter()).test(.router) { client in
                #expect(try await client.call("/v1/secret/data/app", token: root, ["data": ["password": "kept"]]).0 == .ok)
                let token = try await wrap(client, root, "app")
                #expect(try await client.call("/v1/sys/rotate", .put, token: root).0 == .noContent)
                let (rewrapped, body) = try await client.plain(
                    RewrapProgress.self, "/v1/sys/rewrap", .put, token: root, ["batch_size": 100])
                #expect(rewrapped == .ok && body.remaining == 0, "\(body)")
                let (status, answer) = try await client.answer(KV.Read.self, "/v1/sys/wrapping/unwrap", token: token, [:])
                #expect(status == .ok && answer.data?.data?["password"]?.string == "kept", "\(answer)")
            }
        }
    }
}
