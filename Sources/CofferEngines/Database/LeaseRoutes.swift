import CofferAccess
import CofferFoundation
public import CofferHTTP
import Foundation
import HTTPTypes
import Hummingbird

/// Vault's lease endpoints (`sys/leases/lookup|renew|revoke|revoke-prefix`) over the database engine's leases,
/// in Vault's paths and shapes so hvac's `sys.*_lease` works.
public struct LeaseRoutes: Sendable {
    let engine: DatabaseEngine

    /// The routes over these stores and services; ``register(on:)`` adds them to a router.
    public init(engine: DatabaseEngine) { self.engine = engine }

    /// Adds every route of this set to `router`.
    public func register(on router: GatedRouter) {
        // Leases. Listing them by prefix needs sudo, as in Vault.
        for path in ["/v1/sys/leases/lookup", "/v1/sys/leases/lookup/**"] {
            router.onList(path, access: .sudo) { _, _, grant in
                let prefix = String(grant.path.dropFirst("sys/leases/lookup".count).drop { $0 == "/" })
                let keys = try await engine.leaseKeys(grant, prefix: prefix)
                guard !keys.isEmpty else { throw APIError.missing }
                return try VaultJSON.keys(keys)
            }
        }
        router.onWrite("/v1/sys/leases/lookup", operation: .update) { request, context, grant in
            let body = try await Body.decode(LeaseBody.self, request, context)
            let lease = try await engine.lookup(grant, lease: try body.required())
            return VaultJSON.response(status: .ok, VaultEnvelope(data: lease))
        }
        router.onWrite("/v1/sys/leases/renew", operation: .update) { request, context, grant in
            let body = try await Body.decode(LeaseBody.self, request, context)
            let increment = try body.increment.map { try Duration.seconds(of: $0, field: "increment") }
            let (lease, warning) = try await engine.renew(grant, lease: try body.required(), increment: increment)
            return VaultJSON.response(
                status: .ok,
                Envelope<NoData>(
                    lease_id: lease.id, renewable: true,
                    lease_duration: VaultTime.seconds(from: lease.renewedAt ?? lease.issuedAt, to: lease.expiresAt),
                    data: nil, warnings: warning.map { [$0] }))
        }
        router.onWrite("/v1/sys/leases/revoke", operation: .update) { request, context, grant in
            let body = try await Body.decode(LeaseBody.self, request, context)
            try await engine.revoke(grant, lease: try body.required())
            return Response(status: .noContent)
        }
        // Vault's URL form, which its CLI's `lease revoke` uses: the lease ID in the path.
        router.onWrite("/v1/sys/leases/revoke/**", operation: .update) { _, _, grant in
            try await engine.revoke(grant, lease: String(grant.path.dropFirst("sys/leases/revoke/".count)))
            return Response(status: .noContent)
        }
        router.onWrite("/v1/sys/leases/revoke-prefix/**", access: .sudo, operation: .update) { _, _, grant in
            let prefix = String(grant.path.dropFirst("sys/leases/revoke-prefix/".count))
            _ = try await engine.revoke(grant, prefix: prefix)
            return Response(status: .noContent)
        }
    }

    package struct LeaseBody: Decodable {
        var lease_id: String?
        var increment: DurationValue?

        func required() throws -> String {
            guard let lease_id, !lease_id.isEmpty else { throw APIError(.badRequest, "lease_id is required") }
            return lease_id
        }
    }

    /// Vault's envelope for an answer under a lease.
    struct Envelope<D: Encodable>: Encodable {
        let request_id = RequestScope.id
        let lease_id: String
        let renewable: Bool
        let lease_duration: Int64
        @EncodesNull var data: D?
        @EncodesNull var wrap_info: NoData? = nil
        @EncodesNull var warnings: [String]?
        @EncodesNull var auth: NoData? = nil
    }
}

/// `sys/leases/lookup` as Vault answers it: the TTL left now, renewable while below its maximum, the path it
/// was issued at.
extension Lease: Encodable {
    private enum CodingKeys: String, CodingKey {
        case id, issueTime = "issue_time", expireTime = "expire_time", lastRenewal = "last_renewal", renewable, ttl, path
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(issuedAt, forKey: .issueTime)
        try container.encode(expiresAt, forKey: .expireTime)
        try container.encode(renewedAt, forKey: .lastRenewal)
        try container.encode(expiresAt < maxExpiresAt, forKey: .renewable)
        try container.encode(VaultTime.seconds(until: expiresAt), forKey: .ttl)
        try container.encode("database/creds/" + roleName, forKey: .path)
    }
}
