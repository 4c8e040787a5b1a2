import CofferAccess
public import CofferHTTP
import Foundation
import HTTPTypes
import Hummingbird

/// `/v1/coffer/cache/…` (Docs/API.md, "Persistent cache"): entries by namespace and key, statistics,
/// warming and purging. Policies: `cache-reader`, `cache-writer`. Values are text (UTF-8) in JSON.
public struct CacheRoutes: Sendable {
    let cache: PersistentCache

    /// The routes over these stores and services; ``register(on:)`` adds them to a router.
    public init(cache: PersistentCache) {
        self.cache = cache
    }

    /// Adds every route of this set to `router`.
    public func register(on router: GatedRouter) {
        router.on("/v1/coffer/cache/entries/:namespace/:key", method: .get) { _, _, grant in
            let key = try Self.key(grant)
            guard let value = try await cache.get(grant, key) else { throw APIError.missing }
            return VaultJSON.response(status: .ok, VaultEnvelope(data: value, warnings: value.warning.map { [$0] }))
        }
        router.onWrite("/v1/coffer/cache/entries/:namespace/:key", operation: .write) { request, context, grant in
            let key = try Self.key(grant)
            let body = try await Body.decode(PutBody.self, request, context)
            let ttl = try body.ttl.map { try Duration.seconds(of: $0, field: "ttl") } ?? 0
            let (expiresAt, warning) = try await cache.put(
                grant, key, Array(body.value.utf8), ttl: .seconds(ttl), jitter: body.jitter ?? 0)
            return VaultJSON.response(
                status: .ok,
                VaultEnvelope(
                    data: ["expires_time": expiresAt.map { VaultTime.format($0) }],
                    warnings: warning.map { [$0] }))
        }
        router.on("/v1/coffer/cache/entries/:namespace/:key", method: .delete) { _, _, grant in
            guard try await cache.delete(grant, try Self.key(grant)) else { throw APIError.missing }
            return Response(status: .noContent)
        }
        router.onList("/v1/coffer/cache/namespaces") { _, _, grant in
            return try VaultJSON.keys(try await cache.namespaces(grant))
        }
        router.on("/v1/coffer/cache/stats/:namespace", method: .get) { _, context, grant in
            let statistics = try await cache.statistics(grant, namespace: try context.parameters.require("namespace"))
            return VaultJSON.response(status: .ok, VaultEnvelope(data: statistics))
        }
        router.on("/v1/coffer/cache/warm/:namespace", method: .post) { request, context, grant in
            let body = try await Body.decodeIfPresent(WarmBody.self, request, context) ?? WarmBody()
            let loaded = try await cache.setWarm(grant, namespace: try context.parameters.require("namespace"), warm: body.warm ?? true)
            return VaultJSON.response(status: .ok, VaultEnvelope(data: ["loaded": loaded]))
        }
        router.on("/v1/coffer/cache/purge/:namespace", method: .post, operation: .delete) { _, context, grant in
            let removed = try await cache.purge(grant, namespace: try context.parameters.require("namespace"))
            grant.auditFact("purged", "\(removed)")
            return VaultJSON.response(status: .ok, VaultEnvelope(data: ["removed": removed]))
        }
    }

    /// The entry the Gate decided on: `coffer/cache/entries/<namespace>/<key>` of the grant's resource, as
    /// decoded once before routing (a key is never decoded a second time).
    static func key(_ grant: Grant) throws -> CacheKey {
        let segments = grant.resource.segments
        guard segments.count == 5, segments[0...2].elementsEqual(["coffer", "cache", "entries"]) else { throw APIError.missing }
        return CacheKey(namespace: String(segments[3]), key: String(segments[4]))
    }

    package struct PutBody: Decodable {
        let value: String
        var ttl: DurationValue?
        var jitter: Double?
    }

    package struct WarmBody: Decodable {
        var warm: Bool?
    }
}
