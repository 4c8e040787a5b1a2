import CofferAccess
import CofferEngines
import CofferFoundation
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
            return VaultJSON.response(status: .ok, VaultEnvelope(data: ["credentials": statuses.map(StatusAnswer.init)]))
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
        grant.auditFact("rotated", outcomes.filter { $0.result == .rotated }.map(\.path).joined(separator: ","))
        grant.auditFact("failed", outcomes.filter { $0.result == .failed }.map(\.path).joined(separator: ","))
        return VaultJSON.response(status: .ok, VaultEnvelope(data: ["results": outcomes.map(OutcomeAnswer.init)]))
    }

    struct RunBody: Decodable {
        var secret: String?
        var dry_run: Bool?
        var idempotency_key: String?
    }

    struct OutcomeAnswer: Encodable {
        let path: String
        let rotator: String
        let old_version: Int64
        @EncodesNull var new_version: Int64?
        let step: String
        let result: String
        let duration_ms: Double
        let run_id: String
        @EncodesNull var error: String?

        init(_ outcome: RotationOutcome) {
            path = outcome.path
            rotator = outcome.rotator
            old_version = outcome.oldVersion
            new_version = outcome.newVersion
            step = outcome.step?.rawValue ?? ""
            result = outcome.result.rawValue
            let parts = outcome.duration.components
            duration_ms = Double(parts.seconds) * 1000 + Double(parts.attoseconds) / 1e15
            run_id = outcome.runID ?? ""
            error = outcome.error
        }
    }

    struct StatusAnswer: Encodable {
        let path: String
        let rotator: String
        let rotation_interval: String
        let rotation_schedule: String
        let last_rotated_time: String
        let next_rotation_time: String
        let due: Bool
        let current_version: Int64
        @EncodesNull var pending_version: Int64?
        @EncodesNull var previous_version: Int64?
        let previous_until: String
        let failures: Int64
        let last_error: String
        let retry_time: String
        let unfinished_run: String
        let unfinished_step: String
        let locked_until: String

        init(_ status: RotationStatus) {
            let metadata = status.metadata
            path = metadata.path.id
            rotator = metadata.rotation.kind ?? ""
            rotation_interval = VaultTime.duration(metadata.rotation.interval)
            rotation_schedule = metadata.rotation.schedule ?? ""
            last_rotated_time = VaultTime.format(metadata.rotation.lastRotatedAt)
            next_rotation_time = VaultTime.format(metadata.rotation.nextDueAt)
            due = status.isDue
            current_version = metadata.currentVersion
            pending_version = metadata.labels.pending
            previous_version = metadata.labels.previous
            previous_until = VaultTime.format(metadata.labels.previousUntil)
            failures = metadata.rotation.failures
            last_error = metadata.rotation.lastError ?? ""
            retry_time = VaultTime.format(metadata.rotation.retryAt)
            unfinished_run = status.unfinished?.id ?? ""
            unfinished_step = status.unfinished.map { "\($0.step.rawValue)\($0.stepDone ? " (done)" : " (started)")" } ?? ""
            locked_until = VaultTime.format(status.lockedUntil)
        }
    }
}
