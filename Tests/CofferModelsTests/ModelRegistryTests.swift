import CofferAccess
import CofferCrypto
import CofferFoundation
import CofferHTTP
import CofferModels
import CofferServer
import CofferServerTesting
import CofferStore
import CofferTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// The model registry through `/v1/coffer/models/…` on SQLite and a real PostgreSQL: registration with a
/// streamed artifact, digests, the lifecycle, aliases and their history, search, downloads checked against
/// the digest, garbage collection, bad input, and the Gate's reader and writer policies with their audit entries.
struct ModelRegistryTests {
    @Test(arguments: TestDatabase.backends)
    func registry(_ backend: TestBackend) async throws { try await withUnsealedServer(backend, registryContract) }

    static let modelHeader = HTTPField.Name("X-Coffer-Model")!

    func register(_ client: some TestClientProtocol, token: String, model: String, _ bytes: [UInt8], _ metadata: [String: Any]) async throws
        -> (HTTPResponse.Status, VaultAnswer<Models.Version>)
    {
        var headers: HTTPFields = [vaultToken: token]
        headers[Self.modelHeader] = Data(try JSONSerialization.data(withJSONObject: metadata)).base64EncodedString()
        return try await client.execute(
            uri: "/v1/coffer/models/\(model)/versions", method: .post, headers: headers, body: ByteBuffer(bytes: bytes)
        ) { response in
            (response.status, try VaultAnswer<Models.Version>(body: response.body))
        }
    }

    func download(_ client: some TestClientProtocol, token: String, _ path: String) async throws -> (HTTPResponse.Status, [UInt8], String?)
    {
        try await client.execute(uri: path, method: .get, headers: [vaultToken: token]) { response in
            (response.status, Array(response.body.readableBytesView), response.headers[HTTPField.Name("X-Coffer-Artifact-Digest")!])
        }
    }

    func registryContract(_ server: CofferServer, _ root: String) async throws {
        try await Application(router: server.makeRouter()).test(.router) { client in
            let tokens = try await SuiteTokens.make(client, root: root, module: "models")
            let writer = tokens.writer.token, reader = tokens.reader.token
            let artifact = Random.bytes(300_000)
            let digest = SHA256.hex(artifact)

            // Registration: the artifact streams in, the digest is computed, the writer's accessor recorded.
            let (status, body) = try await register(
                client, token: writer, model: "fraud", artifact,
                [
                    "version_label": "1.0.0", "model_type": "classifier", "algorithm": "xgboost", "parameters": ["depth": 6, "eta": 0.3],
                    "training_metrics": ["accuracy": 0.91], "validation_metrics": ["f1": 0.72], "tags": ["team": "risk"],
                    "source": "run-17", "training_data": "s3://data/2026-11", "artifact_digest": "sha256:" + digest,
                    "description": "fraud scoring"
                ])
            #expect(status == .ok, "\(body)")
            let v1 = try #require(body.data, "\(body)")
            #expect(v1.version == 1 && v1.artifactDigest == "sha256:" + digest && v1.artifactSize == 300_000)
            #expect(v1.createdBy == tokens.writer.accessor && v1.status == "registered")
            #expect(v1.parameters["depth"] == .integer(6) && v1.trainingData == "s3://data/2026-11")

            // The reader may read and download, not register; both are audited with the deciding rule.
            let (denied, _) = try await register(client, token: reader, model: "fraud", [1, 2, 3], [:])
            #expect(denied == .forbidden)
            let (got, bytes, header) = try await download(client, token: reader, "/v1/coffer/models/fraud/versions/1/artifact")
            #expect(got == .ok && bytes == artifact && header == "sha256:" + digest)
            let entries = try await server.auditEntries("coffer/models/fraud/versions")
            #expect(
                entries.contains {
                    $0.decision == "allow" && $0.accessor == tokens.writer.accessor && $0.kind == .response && $0.status == 200
                })
            #expect(entries.contains { $0.decision == "deny" && $0.accessor == "" && $0.kind == .response && $0.status == 403 })
            #expect(
                try await server.auditEntries("coffer/models/fraud/versions/1/artifact").contains {
                    $0.accessor == tokens.reader.accessor && $0.kind == .response
                })

            // Versions only go up: the label must rise; a bad digest or label leaves no row and no file.
            let second = Random.bytes(1000)
            #expect(
                try await register(
                    client, token: writer, model: "fraud", second,
                    [
                        "version_label": "1.1.0", "training_metrics": ["accuracy": 0.95],
                        "validation_metrics": ["f1": 0.80], "tags": ["team": "risk"]
                    ]
                ).0 == .ok)
            let (lower, lowerBody) = try await register(client, token: writer, model: "fraud", Random.bytes(10), ["version_label": "1.0.5"])
            #expect(lower == .conflict && "\(lowerBody)".contains("does not rise"), "\(lowerBody)")
            let (mismatch, mismatchBody) = try await register(
                client, token: writer, model: "fraud", Random.bytes(10), ["artifact_digest": "sha256:" + String(repeating: "0", count: 64)])
            #expect(mismatch == .badRequest && "\(mismatchBody)".contains("nothing was registered"), "\(mismatchBody)")
            let (badLabel, _) = try await register(client, token: writer, model: "fraud", Random.bytes(10), ["version_label": "v1"])
            #expect(badLabel == .badRequest)
            let (_, list) = try await client.answer(KV.Keys.self, "/v1/coffer/models/fraud/versions?list=true", .get, token: reader)
            #expect(list.data?.keys == ["2", "1"], "\(list)")
            let root = server.models.blobs.root
            #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/incoming").isEmpty)
            let blobFolders = try FileManager.default.contentsOfDirectory(atPath: root + "/sha256")
            #expect(blobFolders.flatMap { (try? FileManager.default.contentsOfDirectory(atPath: "\(root)/sha256/\($0)")) ?? [] }.count == 2)

            // Lifecycle forward only; aliases move, and the history says who held what when.
            #expect(try await client.call("/v1/coffer/models/fraud/versions/1/status", token: writer, ["status": "staged"]).0 == .ok)
            #expect(
                try await client.call(
                    "/v1/coffer/models/fraud/versions/1/status", token: writer, ["status": "deployed", "note": "canary ok"]
                ).0 == .ok)
            let (back, backBody) = try await client.call("/v1/coffer/models/fraud/versions/1/status", token: writer, ["status": "staged"])
            #expect(back == .conflict && "\(backBody)".contains("only moves forward"))
            #expect(
                try await client.call("/v1/coffer/models/fraud/versions/1/status", token: reader, ["status": "retired"]).0 == .forbidden)
            #expect(try await client.call("/v1/coffer/models/fraud/aliases/champion", .put, token: writer, ["version": 1]).0 == .noContent)
            #expect(try await client.call("/v1/coffer/models/fraud/aliases/champion", .put, token: writer, ["version": 2]).0 == .noContent)
            #expect(
                try await client.call("/v1/coffer/models/fraud/aliases/challenger", .put, token: writer, ["version": 1]).0 == .noContent)
            #expect(try await client.call("/v1/coffer/models/fraud/aliases/7", .put, token: writer, ["version": 1]).0 == .badRequest)
            let (_, champion) = try await client.answer(
                Models.Version.self, "/v1/coffer/models/fraud/versions/champion", .get, token: reader)
            #expect(champion.data?.version == 2)
            let (_, history) = try await client.answer(Models.History.self, "/v1/coffer/models/fraud/history", .get, token: reader)
            let tenures = try #require(history.data?.aliases, "\(history)")
            let championTenures = tenures.filter { $0.alias == "champion" }
            #expect(championTenures.map(\.version) == [1, 2], "\(tenures)")
            #expect(championTenures.first?.until.string != nil && championTenures.last?.until == .null, "\(championTenures)")
            #expect(championTenures.allSatisfy { $0.setBy == tokens.writer.accessor })
            #expect(history.data?.events.contains { $0.event == "status" && $0.toStatus == "deployed" && $0.note == "canary ok" } == true)

            // Retiring a version that holds an alias is refused; an alias cannot point at a retired version.
            let (aliased, aliasedBody) = try await client.call(
                "/v1/coffer/models/fraud/versions/1/status", token: writer, ["status": "retired"])
            #expect(aliased == .conflict && "\(aliasedBody)".contains("challenger"), "\(aliasedBody)")
            #expect(try await client.call("/v1/coffer/models/fraud/aliases/challenger", .delete, token: writer).0 == .noContent)
            #expect(try await client.call("/v1/coffer/models/fraud/versions/1/status", token: writer, ["status": "retired"]).0 == .ok)
            let (retiredAlias, retiredBody) = try await client.call(
                "/v1/coffer/models/fraud/aliases/champion", .put, token: writer, ["version": 1])
            #expect(retiredAlias == .conflict && "\(retiredBody)".contains("retired"))
            #expect(
                try await client.answer(Models.Version.self, "/v1/coffer/models/fraud/versions/2", .get, token: reader).1.data?.aliases
                    == ["champion"])

            // Search by metric threshold, tag and status, ordered by a metric.
            #expect(
                try await register(
                    client, token: writer, model: "churn", Random.bytes(50),
                    ["training_metrics": ["accuracy": 0.7], "tags": ["team": "growth"]]
                ).0 == .ok)
            let (_, found) = try await client.answer(
                Models.Search.self, "/v1/coffer/models/_search?metric=training.accuracy%3E0.8&order_by=validation.f1%20desc", .get,
                token: reader)
            #expect(found.data?.versions.map { "\($0.name)/\($0.version)" } == ["fraud/2", "fraud/1"], "\(found)")
            let (_, tagged) = try await client.answer(Models.Search.self, "/v1/coffer/models/_search?tag=team=growth", .get, token: reader)
            #expect(tagged.data?.versions.map(\.name) == ["churn"])
            let (_, retired) = try await client.answer(Models.Search.self, "/v1/coffer/models/_search?status=retired", .get, token: reader)
            #expect(retired.data?.versions.count == 1)
            #expect(try await client.call("/v1/coffer/models/_search?metric=accuracy%20big", .get, token: reader).0 == .badRequest)

            // The dashboard's model performance view: best first, with status and the champion.
            let (_, report) = try await client.answer(
                Models.Report.self, "/v1/coffer/models/_report?metric=validation.f1", .get, token: reader)
            let rows = try #require(report.data?.rows, "\(report)")
            #expect(
                rows.map { "\($0.version)/\($0.value)/\($0.status)/\($0.champion)" } == ["2/0.8/registered/true", "1/0.72/retired/false"])

            // Idempotent on digest (what `coffer model import` relies on).
            let (again, againBody) = try await register(client, token: writer, model: "fraud", second, ["if_new_digest": true])
            #expect(again == .ok && againBody.data?.version == 2 && againBody.data?.created == false, "\(againBody)")

            // Unknown things are 404s that say what is unknown.
            #expect(try await client.call("/v1/coffer/models/nope", .get, token: reader).0 == .notFound)
            let (noVersion, noVersionBody) = try await client.call("/v1/coffer/models/fraud/versions/9", .get, token: reader)
            #expect(noVersion == .notFound && "\(noVersionBody)".contains("no version 9"))

            // A damaged blob is refused on read, never served.
            let path = "\(root)/sha256/\(digest.prefix(2))/\(digest)"
            var damaged = artifact
            damaged[1000] ^= 1
            try Data(damaged).write(to: URL(fileURLWithPath: path))
            let (corrupt, _, _) = try await download(client, token: reader, "/v1/coffer/models/fraud/versions/1/artifact")
            #expect(corrupt == .conflict)

            // Garbage collection removes only what no version references.
            let orphan = "\(root)/sha256/ab/ab" + String(repeating: "1", count: 62)
            try FileManager.default.createDirectory(atPath: "\(root)/sha256/ab", withIntermediateDirectories: true)
            try Data([1, 2, 3]).write(to: URL(fileURLWithPath: orphan))
            #expect(try await client.call("/v1/coffer/models/_gc", token: reader, ["grace": 0]).0 == .forbidden)
            let (_, collected) = try await client.answer(Models.Collected.self, "/v1/coffer/models/_gc", token: writer, ["grace": 0])
            #expect(collected.data?.removedFiles == 1, "\(collected)")
            #expect(!FileManager.default.fileExists(atPath: orphan) && FileManager.default.fileExists(atPath: path))
        }
    }
}
