import CofferServer
import CofferServerTesting
import CofferTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// What Vault's CLI asks before its real call: which engine and KV version serve a path
/// (`sys/internal/ui/mounts/*`, answered only to a token that may use something under the mount, with one
/// 403 for unknown and forbidden mounts alike), and the HA leader (`sys/leader`).
struct MountPreflightTests {
    @Test func preflightAnswersOnlyATokenThatMayUseTheMount() async throws {
        try await withUnsealedServer { server, root in
            try await Application(router: server.makeRouter()).test(.router) { client in
                #expect(
                    try await client.call(
                        "/v1/sys/policies/acl/app", .put, token: root,
                        ["policy": "path \"secret/data/app/*\" { capabilities = [\"read\"] }"]
                    ).0 == .noContent)
                #expect(
                    try await client.call(
                        "/v1/sys/policies/acl/denied", .put, token: root,
                        ["policy": "path \"secret/*\" { capabilities = [\"deny\"] }"]
                    ).0 == .noContent)
                let reader = try await client.createToken(parent: root, ["policies": ["app"]]).token
                let nothing = try await client.createToken(parent: root, ["policies": ["default"]]).token
                let denied = try await client.createToken(parent: root, ["policies": ["denied"]]).token

                for token in [root, reader] {
                    let (status, body) = try await client.answer(
                        Preflight.self, "/v1/sys/internal/ui/mounts/secret/app/db", .get, token: token)
                    #expect(status == .ok, "\(body)")
                    let data = try #require(body.data)
                    #expect(data.path == "secret/" && data.type == "kv" && data.options["version"] == "2")
                }
                // Unknown mount, no rights, a deny, no token: the same 403, so mounts cannot be enumerated.
                var answers: Set<String> = []
                for (path, token) in [
                    ("nomount/x", root), ("secret/app/db", nothing), ("secret/app/db", denied), ("secret/app/db", nil as String?)
                ] {
                    let (status, body) = try await client.answer(UnreadData.self, "/v1/sys/internal/ui/mounts/\(path)", .get, token: token)
                    #expect(status == .forbidden, "\(path): \(body)")
                    answers.insert((body.errors ?? []).joined().replacingOccurrences(of: path, with: "PATH"))
                }
                #expect(answers.count == 1 && answers.first?.contains("preflight capability check returned 403") == true, "\(answers)")

                // Every envelope carries the request's id, the one in X-Request-Id (Vault's clients log it).
                try await client.call("/v1/secret/data/app/db", token: root, ["data": ["k": "v"]])
                for uri in [
                    "/v1/sys/mounts", "/v1/secret/data/app/db", "/v1/auth/token/lookup-self", "/v1/sys/internal/ui/mounts/secret/app/db"
                ] {
                    try await client.execute(uri: uri, method: .get, headers: [vaultToken: root]) { response in
                        let id = try JSON.decode(RequestID.self, response.body).requestID
                        #expect(!id.isEmpty && id == response.headers[HTTPField.Name("X-Request-Id")!], "\(uri)")
                    }
                }

                let (leader, body) = try await client.plain([String: Bool].self, "/v1/sys/leader", .get)
                #expect(leader == .ok && body == ["ha_enabled": false], "OpenBao without HA answers only that: \(body)")
            }
        }
    }
}

/// `sys/internal/ui/mounts/<path>`: the mount a path is in.
private struct Preflight: Decodable {
    let path: String
    let type: String
    let options: [String: String]
}

/// Any envelope's request id.
private struct RequestID: Decodable {
    let requestID: String

    enum CodingKeys: String, CodingKey { case requestID = "request_id" }
}
