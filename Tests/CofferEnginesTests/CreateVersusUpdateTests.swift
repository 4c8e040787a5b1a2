import CofferServer
import CofferServerTesting
import CofferStore
import CofferTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// The suite's named objects decide `create` vs `update` by existence, in the write's own transaction, as
/// Vault's existence checks do: a token that may only create cannot overwrite what exists, and one that may
/// only update cannot make something new. Cache entries, feature sets, metric retention rules, model aliases.
struct CreateVersusUpdateTests {
    struct Case: Sendable, CustomStringConvertible {
        let name: String
        let policyPath: String
        let uri: String
        let first: [String: any Sendable]
        let second: [String: any Sendable]
        var description: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "cache entry", policyPath: "coffer/cache/entries/ns/*", uri: "/v1/coffer/cache/entries/ns/k",
            first: ["value": "one"], second: ["value": "two"]),
        Case(
            name: "feature set", policyPath: "coffer/features/sets/*", uri: "/v1/coffer/features/sets/fs",
            first: ["description": "one"], second: ["description": "two"]),
        Case(
            name: "metric retention", policyPath: "coffer/metrics/retention/*", uri: "/v1/coffer/metrics/retention/http_requests_total",
            first: ["raw": "1h"], second: ["raw": "2h"]),
        Case(
            name: "model alias", policyPath: "coffer/models/m/aliases/*", uri: "/v1/coffer/models/m/aliases/champion",
            first: ["version": 1], second: ["version": 2])
    ]

    @Test(arguments: TestDatabase.backends, cases)
    func createCannotOverwriteAndUpdateCannotCreate(backend: TestBackend, object: Case) async throws {
        try await withUnsealedServer(backend) { server, root in
            try await Application(router: server.makeRouter()).test(.router) { client in
                if object.name == "model alias" {
                    for _ in 0..<2 {
                        var headers: HTTPFields = [vaultToken: root]
                        headers[HTTPField.Name("X-Coffer-Model")!] = Data(#"{}"#.utf8).base64EncodedString()
                        let status = try await client.execute(
                            uri: "/v1/coffer/models/m/versions", method: .post, headers: headers,
                            body: ByteBuffer(bytes: Array("weights".utf8) + [UInt8.random(in: 0...255)])
                        ) { $0.status }
                        #expect(status == .ok)
                    }
                }
                var tokens: [String: String] = [:]
                for capability in ["create", "update"] {
                    let policy = "path \"\(object.policyPath)\" { capabilities = [\"\(capability)\", \"read\"] }"
                    #expect(
                        try await client.call("/v1/sys/policies/acl/only-\(capability)", .put, token: root, ["policy": policy]).0
                            == .noContent)
                    tokens[capability] = try await client.createToken(parent: root, ["policies": ["only-\(capability)"]]).token
                }
                let creator = try #require(tokens["create"]), updater = try #require(tokens["update"])
                // update alone cannot make it; create can; create cannot overwrite it; update can.
                #expect(
                    try await client.call(object.uri, .post, token: updater, object.first).0 == .forbidden, "\(object.name): update made it"
                )
                let (created, body) = try await client.call(object.uri, .post, token: creator, object.first)
                #expect(created == .noContent || created == .ok, "\(object.name): \(body)")
                #expect(
                    try await client.call(object.uri, .post, token: creator, object.second).0 == .forbidden,
                    "\(object.name): create overwrote it")
                let (updated, updatedBody) = try await client.call(object.uri, .put, token: updater, object.second)
                #expect(updated == .noContent || updated == .ok, "\(object.name): \(updatedBody)")
            }
        }
    }
}
