import CofferAccess
import CofferFoundation
import CofferServer
import CofferServerTesting
import CofferTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PropertyBased
import Testing

/// Vault's KV version 1: one value per secret at `/v1/<mount>/<path>`, any name (including the words version
/// 2 uses for its paths), the same sealing, policies and audit as version 2, and Vault's upgrade to version 2
/// by tuning the mount.
struct KVVersion1Tests {
    /// A version 1 secret as read: its fields, exactly as written.
    typealias Secret = [String: JSONValue]

    static let list = HTTPRequest.Method("LIST")!

    @Test(arguments: TestDatabase.backends)
    func everyEndpointAndTheUpgradeToVersion2(_ backend: TestBackend) async throws {
        try await withUnsealedServer(backend) { server, root in
            try await Application(router: server.makeRouter()).test(.router) { client in
                #expect(try await client.call("/v1/sys/mounts/kv1", token: root, ["type": "kv"]).0 == .noContent)
                let (mountStatus, mount) = try await client.plain(MountOptions.self, "/v1/sys/mounts/kv1", .get, token: root)
                #expect(mountStatus == .ok && mount.options["version"] == "1", "\(mount)")

                // Names that are version 2's kinds are plain secrets here.
                for name in ["app/db", "data/x", "metadata/y", "config", "delete/z"] {
                    #expect(
                        try await client.call("/v1/kv1/\(name)", .put, token: root, ["password": "v1-\(name)", "n": 1]).0 == .noContent,
                        "\(name)")
                }
                for name in ["app/db", "data/x", "metadata/y", "config", "delete/z"] {
                    let (status, body) = try await client.answer(Secret.self, "/v1/kv1/\(name)", .get, token: root)
                    #expect(status == .ok && body.data?["password"] == .string("v1-\(name)"), "\(name): \(body)")
                    #expect(body.leaseDuration == 2_764_800, "Vault's default lease hint without a ttl field")
                }
                // A second write replaces the value; a ttl field is the answer's lease hint.
                #expect(try await client.call("/v1/kv1/app/db", .post, token: root, ["password": "second", "ttl": "30m"]).0 == .noContent)
                let (_, second) = try await client.answer(Secret.self, "/v1/kv1/app/db", .get, token: root)
                #expect(second.data?["password"] == .string("second") && second.leaseDuration == 1800)

                let (listed, keys) = try await client.answer(KV.Keys.self, "/v1/kv1/", Self.list, token: root)
                #expect(listed == .ok && keys.data?.keys == ["app/", "config", "data/", "delete/", "metadata/"])
                let (_, sub) = try await client.answer(KV.Keys.self, "/v1/kv1/app?list=true", .get, token: root)
                #expect(sub.data?.keys == ["db"])
                #expect(try await client.call("/v1/kv1/nothing/", Self.list, token: root).0 == .notFound)

                // Bad input is a 400 that says what to send, and loses nothing.
                let (empty, emptyBody) = try await client.call("/v1/kv1/app/db", .post, token: root, [:])
                #expect(empty == .badRequest && "\(emptyBody)".contains("missing data fields"))
                #expect(try await client.answer(Secret.self, "/v1/kv1/app/db", .get, token: root).1.data?["password"] == .string("second"))

                #expect(try await client.call("/v1/kv1/delete/z", .delete, token: root).0 == .noContent)
                #expect(try await client.call("/v1/kv1/delete/z", .get, token: root).0 == .notFound)
                #expect(try await client.call("/v1/kv1/delete/z", .delete, token: root).0 == .noContent, "quiet, as Vault is")

                // A version 1 path on a version 2 engine: Vault's 404 with its warning.
                let (versioned, warning) = try await client.call("/v1/secret/app/db", .get, token: root)
                #expect(
                    versioned == .notFound && "\(warning["warnings"] ?? "")".contains("Invalid path for a versioned K/V secrets engine"))

                // The upgrade: every value becomes its secret's current version; there is no way back.
                let (tuned, tuneAnswer) = try await client.call("/v1/sys/mounts/kv1/tune", token: root, ["options": ["version": 2]])
                #expect(tuned == .ok && "\(tuneAnswer["warnings"] ?? "")".contains("from KV version 1 to version 2"), "\(tuneAnswer)")
                let (upgraded, read) = try await client.answer(KV.Read.self, "/v1/kv1/data/app/db", .get, token: root)
                #expect(upgraded == .ok && read.data?.data?["password"] == .string("second"), "\(read)")
                let (_, config) = try await client.answer(KV.Read.self, "/v1/kv1/data/config", .get, token: root)
                #expect(config.data?.data?["password"] == .string("v1-config"))
                #expect(try await client.call("/v1/kv1/metadata/app/db", .get, token: root).0 == .ok)
                #expect(try await client.call("/v1/kv1/app/db", .get, token: root).0 == .notFound)
                let (down, downBody) = try await client.call("/v1/sys/mounts/kv1/tune", token: root, ["options": ["version": "1"]])
                #expect(down == .badRequest && "\(downBody)".contains("cannot downgrade mount from version 2"))

                let (other, otherBody) = try await client.call("/v1/sys/mounts/pki", token: root, ["type": "pki"])
                #expect(other == .badRequest && "\(otherBody)".contains("Coffer offers the KV secrets engine"), "\(otherBody)")
                #expect(
                    try await client.call("/v1/sys/mounts/kv3", token: root, ["type": "kv", "options": ["version": "3"]]).0 == .badRequest)
            }
            #expect(try await server.verifyTrail().isIntact)
        }
    }

    /// A policy names a version 1 secret by `mount/path`, and create, update, read, list and delete are each
    /// decided on it: a name that is a version 2 kind gives no way around a rule.
    @Test func policiesHoldOnVersion1Paths() async throws {
        try await withUnsealedServer { server, root in
            try await Application(router: server.makeRouter()).test(.router) { client in
                #expect(
                    try await client.call("/v1/sys/mounts/kv1", token: root, ["type": "kv", "options": ["version": "1"]]).0 == .noContent)
                let policy = """
                    path "kv1/app/*" { capabilities = ["create", "read"] }
                    path "kv1/data/*" { capabilities = ["deny"] }
                    path "kv1/" { capabilities = ["list"] }
                    """
                #expect(try await client.call("/v1/sys/policies/acl/v1app", .put, token: root, ["policy": policy]).0 == .noContent)
                let app = try await client.createToken(parent: root, ["policies": ["v1app"]]).token
                #expect(try await client.call("/v1/kv1/data/x", .put, token: root, ["k": "root's"]).0 == .noContent)

                #expect(try await client.call("/v1/kv1/app/new", .put, token: app, ["k": "v"]).0 == .noContent, "create is allowed")
                #expect(try await client.call("/v1/kv1/app/new", .put, token: app, ["k": "w"]).0 == .forbidden, "update is not")
                #expect(try await client.answer(Secret.self, "/v1/kv1/app/new", .get, token: app).1.data?["k"] == .string("v"))
                #expect(try await client.call("/v1/kv1/app/new", .delete, token: app).0 == .forbidden)
                #expect(try await client.call("/v1/kv1/data/x", .get, token: app).0 == .forbidden)
                #expect(try await client.call("/v1/kv1/data/x", .put, token: app, ["k": "mine"]).0 == .forbidden)
                #expect(try await client.call("/v1/kv1/", Self.list, token: app).0 == .ok)
                #expect(try await client.call("/v1/kv1/app/", Self.list, token: app).0 == .forbidden)
                #expect(try await client.answer(Secret.self, "/v1/kv1/data/x", .get, token: root).1.data?["k"] == .string("root's"))
            }
        }
    }

    /// Any valid secret name, including version 2's kinds and odd characters, round-trips unchanged.
    @Test func anyNameRoundTrips() async throws {
        try await withUnsealedServer { server, root in
            try await Application(router: server.makeRouter()).test(.router) { client in
                let (mounted, _) = try await client.call("/v1/sys/mounts/kv1", token: root, ["type": "kv-v1"])
                #expect(mounted == .noContent)
                let names = ["data", "metadata", "config", "subkeys", "destroy", "a", "b.c", "x-y", "é", "日本", "_", "a b"]
                let segment = Gen.element(of: names)
                    .array(of: 1...4).map { $0.compactMap { $0 }.joined(separator: "/") }
                await propertyCheck(count: 60, input: segment, Gen<Int>.int(in: 0...1_000_000)) { name, value in
                    do {
                        let encoded =
                            name.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "%")))
                            ?? name
                        let (written, answer) = try await client.call("/v1/kv1/\(encoded)", .put, token: root, ["value": value])
                        #expect(written == .noContent, "\(name): \(answer)")
                        let (status, body) = try await client.answer(Secret.self, "/v1/kv1/\(encoded)", .get, token: root)
                        #expect(status == .ok && body.data?["value"] == .integer(Int64(value)), "\(name): \(body)")
                    } catch { Issue.record(error, "\(name)") }
                }
            }
        }
    }
}

/// `sys/mounts/<path>`: the mount's options, at the top level as Vault answers.
private struct MountOptions: Decodable { let options: [String: String] }
