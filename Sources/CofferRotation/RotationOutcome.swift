public import CofferAccess
public import CofferEngines
import CofferHTTP
public import Foundation

/// What a rotation run did to one credential (a row of `make rotate`'s table).
public struct RotationOutcome: Sendable, Equatable, Encodable {
    public enum Result: String, Sendable, Encodable {
        /// `current` moved to the new version.
        case rotated
        /// A step failed; the change was rolled back (or, if even that failed, the next run resumes it).
        case failed
        /// Another run holds the credential's lock.
        case locked
        /// Not allowed to this token, so not touched.
        case denied
        /// Dry run: it would be rotated now.
        case due
    }

    public let path: String
    public let rotator: String
    public let oldVersion: Int64
    public let newVersion: Int64?
    /// The last step the run reached.
    public let step: RotationStep?
    public let result: Result
    public let duration: Duration
    public let runID: String?
    public let error: String?

    private enum CodingKeys: String, CodingKey {
        case path, rotator, oldVersion = "old_version", newVersion = "new_version", step, result, duration = "duration_ms"
        case runID = "run_id", error
    }

    /// A row of the run's answer: no step or run is `""`, the duration in milliseconds.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(path, forKey: .path)
        try container.encode(rotator, forKey: .rotator)
        try container.encode(oldVersion, forKey: .oldVersion)
        try container.encode(newVersion, forKey: .newVersion)
        try container.encode(step?.rawValue ?? "", forKey: .step)
        try container.encode(result, forKey: .result)
        let parts = duration.components
        try container.encode(Double(parts.seconds) * 1000 + Double(parts.attoseconds) / 1e15, forKey: .duration)
        try container.encode(runID ?? "", forKey: .runID)
        try container.encode(error, forKey: .error)
    }
}

/// A credential's rotation state (`make rotate-status`).
public struct RotationStatus: Sendable, Encodable {
    public let metadata: SecretMetadata
    /// The unfinished run, if one is under way or died (the next run resumes it).
    public let unfinished: (id: String, step: RotationStep, stepDone: Bool)?
    public let lockedUntil: Date?
    public let isDue: Bool

    private enum CodingKeys: String, CodingKey {
        case path, rotator, interval = "rotation_interval", schedule = "rotation_schedule", lastRotated = "last_rotated_time"
        case nextRotation = "next_rotation_time", due, currentVersion = "current_version", pendingVersion = "pending_version"
        case previousVersion = "previous_version", previousUntil = "previous_until", failures, lastError = "last_error"
        case retry = "retry_time", unfinishedRun = "unfinished_run", unfinishedStep = "unfinished_step", lockedUntil = "locked_until"
    }

    /// The schedule as `make rotate-status` shows it: times as Vault writes them (`""` for none), the interval as a
    /// Go duration, the unfinished step with whether it completed.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        let rotation = metadata.rotation
        try container.encode(metadata.path.id, forKey: .path)
        try container.encode(rotation.kind ?? "", forKey: .rotator)
        try container.encode(VaultTime.duration(rotation.interval), forKey: .interval)
        try container.encode(rotation.schedule ?? "", forKey: .schedule)
        try container.encode(VaultTime.format(rotation.lastRotatedAt), forKey: .lastRotated)
        try container.encode(VaultTime.format(rotation.nextDueAt), forKey: .nextRotation)
        try container.encode(isDue, forKey: .due)
        try container.encode(metadata.currentVersion, forKey: .currentVersion)
        try container.encode(metadata.labels.pending, forKey: .pendingVersion)
        try container.encode(metadata.labels.previous, forKey: .previousVersion)
        try container.encode(VaultTime.format(metadata.labels.previousUntil), forKey: .previousUntil)
        try container.encode(rotation.failures, forKey: .failures)
        try container.encode(rotation.lastError ?? "", forKey: .lastError)
        try container.encode(VaultTime.format(rotation.retryAt), forKey: .retry)
        try container.encode(unfinished?.id ?? "", forKey: .unfinishedRun)
        try container.encode(
            unfinished.map { "\($0.step.rawValue)\($0.stepDone ? " (done)" : " (started)")" } ?? "", forKey: .unfinishedStep)
        try container.encode(VaultTime.format(lockedUntil), forKey: .lockedUntil)
    }
}

extension [RotationOutcome] {
    /// Names the credentials a run rotated and those that failed in its request's audit entry.
    public func recordInAudit(_ grant: Grant) {
        grant.auditFact("rotated", filter { $0.result == .rotated }.map(\.path).joined(separator: ","))
        grant.auditFact("failed", filter { $0.result == .failed }.map(\.path).joined(separator: ","))
    }
}
