import CofferAccess
import CofferFoundation
public import CofferHTTP
import Foundation
import HTTPTypes
import Hummingbird

/// `/v1/coffer/features/…` (Docs/API.md, "Feature cache"): feature sets, batch writes, latest and as-of
/// reads, histories, statistics and pruning. Policies: `features-reader`, `features-writer`.
public struct FeatureRoutes: Sendable {
    let store: FeatureStore

    /// The routes over these stores and services; ``register(on:)`` adds them to a router.
    public init(store: FeatureStore) {
        self.store = store
    }

    /// Adds every route of this set to `router`.
    public func register(on router: GatedRouter) {
        router.onList("/v1/coffer/features/sets") { _, _, grant in
            return try VaultJSON.keys(try await store.sets(grant))
        }
        router.onWrite("/v1/coffer/features/sets/:set", operation: .write) { request, context, grant in
            let body = try await Body.decode(SetBody.self, request, context)
            guard let type = FeatureValueType(rawValue: body.value_type ?? "number") else {
                throw APIError(.badRequest, "value_type must be number or json")
            }
            let set = FeatureSet(
                name: try context.parameters.require("set"), valueType: type,
                ttl: try body.ttl.map { try Duration.seconds(of: $0, field: "ttl") } ?? 0,
                retention: try body.retention.map { try Duration.seconds(of: $0, field: "retention") } ?? 0,
                features: body.features?.items ?? [], description: body.description ?? "")
            try await store.define(grant, set)
            return Response(status: .noContent)
        }
        router.on("/v1/coffer/features/sets/:set", method: .get) { _, context, grant in
            let set = try await store.set(grant, try context.parameters.require("set"))
            return VaultJSON.response(status: .ok, VaultEnvelope(data: set))
        }
        router.on("/v1/coffer/features/sets/:set", method: .delete) { _, context, grant in
            try await store.delete(grant, set: try context.parameters.require("set"))
            return Response(status: .noContent)
        }
        router.on("/v1/coffer/features/values/:set", method: .post) { request, context, grant in
            let body = try await Body.decode(WriteBody.self, request, context)
            let rows = try body.rows.enumerated().map { index, row in
                FeatureWrite(
                    entity: row.entity, feature: row.feature, value: row.value ?? .null,
                    eventTime: try row.event_time.map { try SuiteTime.parse($0.text, field: "rows[\(index)].event_time") })
            }
            let written = try await store.put(grant, set: try context.parameters.require("set"), rows)
            grant.auditFact("written", "\(written)")
            return VaultJSON.response(status: .ok, VaultEnvelope(data: ["written": written]))
        }
        // A batch read: POST (the entity list can be long) under the `read` capability, or GET with query parameters.
        router.on("/v1/coffer/features/read/:set", method: .post, operation: .read) { request, context, grant in
            let body = try await Body.decode(ReadBody.self, request, context)
            return try await read(
                grant, set: try context.parameters.require("set"), entities: body.entities.items, features: body.features?.items,
                asOf: try body.as_of.map { try SuiteTime.parse($0.text, field: "as_of") })
        }
        router.on("/v1/coffer/features/values/:set", method: .get) { request, context, grant in
            let query = request.uri.queryParameters
            let entities = Self.list(query["entities"].map(String.init))
            return try await read(
                grant, set: try context.parameters.require("set"), entities: entities,
                features: query["features"].map { Self.list(String($0)) },
                asOf: try query["as_of"].map { try SuiteTime.parse(String($0), field: "as_of") })
        }
        router.on("/v1/coffer/features/history/:set/:entity/:feature", method: .get) { request, context, grant in
            let query = request.uri.queryParameters
            let to = try query["to"].map { try SuiteTime.parse(String($0), field: "to") } ?? WallClock.now
            let from = try query["from"].map { try SuiteTime.parse(String($0), field: "from") } ?? to.addingTimeInterval(-86_400)
            guard let limit = Int(query["limit"].map(String.init) ?? "10000") else { throw APIError(.badRequest, "limit must be a number") }
            let points = try await store.history(
                grant, set: try context.parameters.require("set"), entity: try context.parameters.require("entity"),
                feature: try context.parameters.require("feature"), from: from, to: to, limit: limit)
            return VaultJSON.response(status: .ok, VaultEnvelope(data: ["points": points]))
        }
        router.on("/v1/coffer/features/stats/:set", method: .get) { _, context, grant in
            let statistics = try await store.statistics(grant, set: try context.parameters.require("set"))
            return VaultJSON.response(status: .ok, VaultEnvelope(data: statistics))
        }
        router.on("/v1/coffer/features/prune", method: .post, operation: .delete) { request, context, grant in
            let body = try await Body.decodeIfPresent(PruneBody.self, request, context) ?? PruneBody()
            let cutoff = try body.older_than.map {
                WallClock.now.addingTimeInterval(-Double(try Duration.seconds(of: $0, field: "older_than")))
            }
            let removed = try await store.prune(grant, set: body.set, olderThan: cutoff)
            grant.auditFact("pruned", "\(removed)")
            return VaultJSON.response(status: .ok, VaultEnvelope(data: ["removed": removed]))
        }
    }

    private func read(_ grant: Grant, set: String, entities: [String], features: [String]?, asOf: Date?) async throws -> Response {
        let readings = try await store.latest(grant, set: set, entities: entities, features: features, asOf: asOf)
        return VaultJSON.response(status: .ok, VaultEnvelope(data: ["entities": readings]))
    }

    static func list(_ text: String?) -> [String] {
        (text ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    package struct SetBody: Decodable {
        var value_type: String?
        var ttl: DurationValue?
        var retention: DurationValue?
        var features: StringList?
        var description: String?
    }

    package struct WriteBody: Decodable {
        let rows: [Row]

        package struct Row: Decodable {
            let entity: String
            let feature: String
            let value: JSONValue?
            var event_time: TimeValue?
        }
    }

    package struct ReadBody: Decodable {
        let entities: StringList
        var features: StringList?
        var as_of: TimeValue?
    }

    package struct PruneBody: Decodable {
        var set: String?
        var older_than: DurationValue?
    }
}
