import CofferAccess
import CofferEngines
public import CofferHTTP
import Foundation
import HTTPTypes
import Hummingbird

/// `/v1/coffer/rotation/…` (Docs/API.md, "Rotation"): run due rotations, rotate one now, and the status
/// of every schedule. Running needs Coffer's `rotate` capability on the path; the status needs `read`.
public struct RotationRoutes: Sendable {
    let engine: RotationEngine

    /// The routes over these stores and services; ``register(on:)`` adds them to a router.
    public init(engine: RotationEngine) {
        self.engine = engine
    }

    /// Adds every route of this set to `router`.
    public func register(on router: GatedRouter) {
        router.on("/v1/coffer/rotation/status", method: .get) { _, _, grant in
            let statuses = try await engine.status(grant)
            return VaultJSON.response(status: .ok, VaultEnvelope(data: ["credentials": statuses]))
        }
        router.on("/v1/coffer/rotation/run", method: .post, operation: .rotate) { request, context, grant in
            let body = try await Body.decodeIfPresent(RunBody.self, request, context) ?? RunBody()
            let only = try body.secret.map(Self.secretPath)
            let outcomes = try await engine.run(grant, only: only, dryRun: body.dry_run ?? false, idempotencyKey: body.idempotency_key)
            return answer(outcomes, grant: grant)
        }
        router.on("/v1/coffer/rotation/rotate/**", method: .post, operation: .rotate) { request, context, grant in
            let body = try await Body.decodeIfPresent(RunBody.self, request, context) ?? RunBody()
            let prefix = "coffer/rotation/rotate/"
            guard grant.path.hasPrefix(prefix) else { throw APIError.missing }
            let path = try Self.secretPath(String(grant.path.dropFirst(prefix.count)))
            let outcomes = try await engine.run(grant, only: path, dryRun: body.dry_run ?? false, idempotencyKey: body.idempotency_key)
            return answer(outcomes, grant: grant)
        }
    }

    /// `mount/path` as one string (the CLI's `--secret secret/app/api`).
    static func secretPath(_ text: String) throws -> SecretPath {
        guard let path = try SecretPath(id: text) else {
            throw APIError(.badRequest, "a credential is named mount/path, such as secret/app/api")
        }
        return path
    }

    private func answer(_ outcomes: [RotationOutcome], grant: Grant) -> Response {
        outcomes.recordInAudit(grant)
        return VaultJSON.response(status: .ok, VaultEnvelope(data: ["results": outcomes]))
    }

    package struct RunBody: Decodable {
        var secret: String?
        var dry_run: Bool?
        var idempotency_key: String?
    }
}
