import CofferAccess
import CofferFoundation
public import CofferHTTP
import Foundation
import HTTPTypes
import Hummingbird

/// `/v1/coffer/models/…` (Docs/API.md, "Model registry"): register a version by streaming its artifact,
/// read, search, move through the lifecycle, alias, download, and the history. Policies: `models-reader`,
/// `models-writer` (Policies/).
public struct ModelRoutes: Sendable {
    let registry: ModelRegistry
    /// The registration's metadata travels in this header (JSON, or base64 of JSON) while the body is the artifact.

    /// The routes over these stores and services; ``register(on:)`` adds them to a router.
    public init(registry: ModelRegistry) {
        self.registry = registry
    }
    static let metadataHeader = HTTPField.Name("X-Coffer-Model")!
    static let digestHeader = HTTPField.Name("X-Coffer-Artifact-Digest")!

    /// Adds every route of this set to `router`.
    public func register(on router: GatedRouter) {
        router.onList("/v1/coffer/models") { _, _, grant in
            return try VaultJSON.keys(try await registry.models(grant))
        }
        router.on("/v1/coffer/models/_search", method: .get) { request, _, grant in
            let found = try await registry.search(
                grant,
                try Self.search(
                    Dictionary(request.uri.queryParameters.map { (String($0.key), String($0.value)) }, uniquingKeysWith: { $1 })))
            return VaultJSON.response(status: .ok, VaultEnvelope(data: ["versions": found]))
        }
        // The dashboard's model performance report (the `model_performance` view).
        router.on("/v1/coffer/models/_report", method: .get) { request, _, grant in
            let query = request.uri.queryParameters
            let rows = try await registry.performance(
                grant, model: query["model"].map(String.init), metric: query["metric"].map(String.init))
            return VaultJSON.response(status: .ok, VaultEnvelope(data: ["rows": rows]))
        }
        router.on("/v1/coffer/models/_gc", method: .post, operation: .delete) { request, context, grant in
            let body = try await Body.decodeIfPresent(CollectBody.self, request, context) ?? CollectBody()
            let grace = try body.grace.map { try Duration.seconds(of: $0, field: "grace") } ?? 3600
            let (files, bytes) = try await registry.collectGarbage(grant, grace: TimeInterval(grace))
            grant.auditFact("removed_blobs", "\(files)")
            return VaultJSON.response(status: .ok, VaultEnvelope(data: ["removed_files": files, "removed_bytes": Int(bytes)]))
        }
        router.on("/v1/coffer/models/:name", method: .get) { _, context, grant in
            let summary = try await registry.model(grant, try context.parameters.require("name"))
            return VaultJSON.response(status: .ok, VaultEnvelope(data: summary))
        }
        router.on("/v1/coffer/models/:name/versions", method: .post) { request, context, grant in
            try await registerVersion(request, context, grant)
        }
        router.onList("/v1/coffer/models/:name/versions") { _, context, grant in
            let versions = try await registry.versions(grant, model: try context.parameters.require("name"))
            return VaultJSON.response(
                status: .ok,
                VaultEnvelope(data: VersionsAnswer(keys: versions.map { String($0.version) }, versions: versions)))
        }
        router.on("/v1/coffer/models/:name/versions/:version", method: .get) { _, context, grant in
            let version = try await registry.version(
                grant, model: try context.parameters.require("name"),
                VersionReference(parsing: try context.parameters.require("version")))
            return VaultJSON.response(status: .ok, VaultEnvelope(data: version))
        }
        router.on("/v1/coffer/models/:name/versions/:version/artifact", method: .get) { _, context, grant in
            let (version, reader) = try await registry.artifact(
                grant, model: try context.parameters.require("name"),
                VersionReference(parsing: try context.parameters.require("version")))
            grant.auditFact("artifact_digest", version.artifactDigest.hex)
            var headers = HTTPFields()
            headers[.contentType] = "application/octet-stream"
            headers[Self.digestHeader] = version.artifactDigest.description
            headers[.contentDisposition] = "attachment; filename=\"\(version.name)-\(version.version)\""
            return Response(
                status: .ok, headers: headers,
                body: ResponseBody(contentLength: Int(version.artifactSize)) { writer in
                    try await reader.forEachChunk { chunk in try await writer.write(ByteBuffer(bytes: chunk)) }
                    try await writer.finish(nil)
                })
        }
        router.onWrite("/v1/coffer/models/:name/versions/:version/status") { request, context, grant in
            let body = try await Body.decode(StatusBody.self, request, context)
            guard let status = ModelStatus(rawValue: body.status) else {
                throw APIError(.badRequest, "status must be one of \(ModelStatus.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let version = try await registry.setStatus(
                grant, model: try context.parameters.require("name"),
                version: try Self.number(context.parameters.require("version")), to: status, note: body.note ?? "")
            grant.auditFact("status", status.rawValue)
            return VaultJSON.response(status: .ok, VaultEnvelope(data: version))
        }
        router.onWrite("/v1/coffer/models/:name/aliases/:alias", operation: .write) { request, context, grant in
            let body = try await Body.decode(AliasBody.self, request, context)
            let name = try context.parameters.require("name"), alias = try context.parameters.require("alias")
            try await registry.setAlias(grant, model: name, alias: alias, version: body.version, note: body.note ?? "")
            grant.auditFact("alias", "\(alias)=\(body.version)")
            return Response(status: .noContent)
        }
        router.on("/v1/coffer/models/:name/aliases/:alias", method: .get) { _, context, grant in
            let version = try await registry.version(
                grant, model: try context.parameters.require("name"), .alias(try context.parameters.require("alias")))
            return VaultJSON.response(status: .ok, VaultEnvelope(data: version))
        }
        router.on("/v1/coffer/models/:name/aliases/:alias", method: .delete) { _, context, grant in
            try await registry.removeAlias(
                grant, model: try context.parameters.require("name"), alias: try context.parameters.require("alias"))
            return Response(status: .noContent)
        }
        router.on("/v1/coffer/models/:name/history", method: .get) { _, context, grant in
            let events = try await registry.history(grant, model: try context.parameters.require("name"))
            return VaultJSON.response(
                status: .ok,
                VaultEnvelope(
                    data: HistoryAnswer(events: events, aliases: ModelRegistry.tenures(events))))
        }
    }

    /// The body is the artifact, streamed to disk as it arrives; the metadata is in `X-Coffer-Model`.
    private func registerVersion(_ request: Request, _ context: CofferRequestContext, _ grant: Grant) async throws -> Response {
        let name = try context.parameters.require("name")
        let draft = try Self.draft(request.headers[Self.metadataHeader])
        try registry.validate(model: name, draft)
        let upload = try registry.blobs.upload()
        do {
            for try await buffer in request.body {
                try buffer.withUnsafeReadableBytes { try upload.write($0, limit: registry.maxArtifactSize) }
            }
            guard upload.size > 0 else { throw APIError(.badRequest, "the request body is the model's artifact, and it is empty") }
            let staged = try upload.finish()
            let (version, created) = try await registry.register(grant, model: name, draft, artifact: staged)
            grant.auditFact("model_version", "\(name)/\(version.version)")
            grant.auditFact("artifact_digest", version.artifactDigest.hex)
            return VaultJSON.response(status: .ok, VaultEnvelope(data: Registration(version: version, created: created)))
        } catch {
            upload.abandon()
            throw error
        }
    }

    static func draft(_ header: String?) throws -> ModelVersionDraft {
        guard let header, !header.isEmpty else { return ModelVersionDraft() }
        let text = header.trimmingCharacters(in: .whitespaces)
        guard let data = text.hasPrefix("{") ? Data(text.utf8) : Data(base64Encoded: text) else {
            throw APIError(.badRequest, "X-Coffer-Model must be a JSON object, or base64 of one")
        }
        do {
            return try JSONDecoder().decode(ModelVersionDraft.self, from: data)
        } catch {
            throw APIError(.badRequest, "X-Coffer-Model is not the registration JSON: \(Self.describe(error))")
        }
    }

    private static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            "\(context.codingPath.map(\.stringValue).joined(separator: ".")) has the wrong type"
        default: "malformed JSON"
        }
    }

    static func number(_ text: String) throws -> Int64 {
        guard let number = Int64(text), number > 0 else {
            throw APIError(.badRequest, "a version is a number from 1 (aliases are set with /aliases/:alias)")
        }
        return number
    }

    static func search(_ query: [String: String]) throws -> ModelSearch {
        var search = ModelSearch()
        search.name = query["name"].flatMap { $0.isEmpty ? nil : $0 }
        if let status = query["status"], !status.isEmpty {
            guard let parsed = ModelStatus(rawValue: status) else {
                throw APIError(.badRequest, "status must be one of \(ModelStatus.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            search.status = parsed
        }
        for tag in (query["tag"] ?? "").split(separator: ",") {
            let parts = tag.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw APIError(.badRequest, "tag filters look like tag=team=fraud,stage=prod") }
            search.tags[parts[0]] = parts[1]
        }
        search.metrics = try (query["metric"] ?? "").split(separator: ",").map { try MetricFilter(parsing: String($0)) }
        search.orderBy = try query["order_by"].flatMap { $0.isEmpty ? nil : try MetricOrder(parsing: $0) }
        if let limit = query["limit"] {
            guard let value = Int(limit) else { throw APIError(.badRequest, "limit must be a number from 1 to 1000") }
            search.limit = value
        }
        return search
    }

    package struct CollectBody: Decodable {
        var grace: DurationValue?
    }

    package struct StatusBody: Decodable {
        let status: String
        var note: String?
    }

    package struct AliasBody: Decodable {
        let version: Int64
        var note: String?
    }

    /// Vault's list shape (`keys`) beside the versions themselves.
    struct VersionsAnswer: Encodable {
        let keys: [String]
        let versions: [ModelVersion]
    }

    /// A registration's answer: the version, and whether this request added it (`false` when `if_new_digest`
    /// found the same artifact already registered).
    struct Registration: Encodable {
        let version: ModelVersion
        let created: Bool

        private enum CodingKeys: String, CodingKey { case created }

        func encode(to encoder: any Encoder) throws {
            try version.encode(to: encoder)
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(created, forKey: .created)
        }
    }

    struct HistoryAnswer: Encodable {
        let events: [ModelEvent]
        let aliases: [AliasTenure]
    }
}
