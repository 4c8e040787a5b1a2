public import CofferAccess
import CofferStore
public import Foundation

/// One version's facts (KV v2 `versions` entries and a read's `metadata`).
public struct VersionMetadata: Sendable, Equatable {
    public let version: Int64
    public let createdAt: Date
    public let createdBy: String
    /// When it was, or will be, soft-deleted (a delete, or `delete_version_after`); `nil` while live.
    public let deletionTime: Date?
    public let destroyed: Bool

    /// Whether reads answer 404 for it at `now`: destroyed, or its deletion time has come.
    public func isDeleted(at now: Date) -> Bool {
        destroyed || deletionTime.map { $0 <= now } == true
    }
}

/// A secret's metadata (KV v2 `metadata/:path`), with Coffer's usage and rotation fields.
public struct SecretMetadata: Sendable, Equatable {
    public let path: SecretPath
    public let currentVersion: Int64
    public let oldestVersion: Int64
    public let maxVersions: Int64
    public let casRequired: Bool
    /// Seconds; 0 = the engine's.
    public let deleteVersionAfter: Int64
    public let customMetadata: [String: String]?
    public let createdBy: String
    public let createdAt: Date
    public let updatedAt: Date
    /// Reads answer 404 from then on.
    public let expiresAt: Date?
    /// Usage: flushed in batches, so up to ``UsageTracker/flushInterval`` behind.
    public let lastAccessedAt: Date?
    public let accessCount: Int64
    public let rotation: RotationSchedule
    /// The versions a rotation labels besides `current` (``currentVersion``).
    public let labels: VersionLabels
    /// Oldest first.
    public let versions: [VersionMetadata]
    /// The random id fixed when the secret was created (part of every version's binding); `nil` for a secret
    /// created before secrets had one, whose versions stay bound to `mount/path` alone.
    public let uid: String?
    /// The highest version number ever given to this secret, kept across deleted and discarded versions.
    public let versionCounter: Int64

    /// The number the next version gets: never one given before (a version deleted, trimmed, or written
    /// by a rotation that was rolled back keeps its number used), so an old sealed row cannot be replayed
    /// under a reused number.
    public var nextVersion: Int64 { max(versionCounter, currentVersion, labels.pending ?? 0) + 1 }
}

/// The rotation fields the rotation runner uses (stored now, edited through metadata).
public struct RotationSchedule: Sendable, Equatable {
    /// Seconds between rotations; 0 = not scheduled.
    public var interval: Int64
    /// The rotator's name (`random`, `postgres-password`, …), or `nil`.
    public var kind: String?
    public var lastRotatedAt: Date?
    public var nextDueAt: Date?
    /// A cron schedule in UTC (``CronSchedule``), used instead of ``interval`` when set.
    public var schedule: String?
    /// The rotator's settings, a JSON object's text (never secret: references to secrets, lengths, alphabets).
    public var settings: String?
    /// Failed runs in a row; reset by a run that succeeds.
    public var failures: Int64
    /// Backoff after failures: not due again before this.
    public var retryAt: Date?
    public var lastError: String?

    public init(
        interval: Int64 = 0, kind: String? = nil, lastRotatedAt: Date? = nil, nextDueAt: Date? = nil, schedule: String? = nil,
        settings: String? = nil, failures: Int64 = 0, retryAt: Date? = nil, lastError: String? = nil
    ) {
        self.schedule = schedule
        self.interval = interval
        self.kind = kind
        self.lastRotatedAt = lastRotatedAt
        self.nextDueAt = nextDueAt
        self.settings = settings
        self.failures = failures
        self.retryAt = retryAt
        self.lastError = lastError
    }
}

/// Labels a staged rotation moves, as AWS Secrets Manager's staging labels: `pending` (created, not yet
/// current), `previous` (the value before the last rotation, readable for a grace period).
extension RotationSchedule {
    /// Whether it is scheduled at all: an interval or a cron schedule.
    public var isScheduled: Bool { kind != nil && (interval > 0 || schedule != nil) }

    /// The next due time after a rotation (or a schedule change) at `now`.
    public func nextDue(after now: Date) -> Date? {
        if let schedule, let cron = try? CronSchedule(schedule) { return cron.next(after: now) }
        return interval > 0 ? now.addingTimeInterval(Double(interval)) : nil
    }
}

public struct VersionLabels: Sendable, Equatable {
    public var pending: Int64?
    public var previous: Int64?
    /// `previous` reads answer 404 from then on.
    public var previousUntil: Date?

    public init(pending: Int64? = nil, previous: Int64? = nil, previousUntil: Date? = nil) {
        self.pending = pending
        self.previous = previous
        self.previousUntil = previousUntil
    }
}

/// Which version a read wants.
public enum VersionSelector: Sendable, Equatable {
    /// The `current` label: what a plain read returns.
    case current
    /// A version by its number (1 or more; the routes map Vault's `version=0` to ``current``).
    case number(Int64)
    /// A rotation's new value before its finish step.
    case pending
    /// The value before the last rotation, during its grace period.
    case previous
}

extension VersionSelector {
    /// The version number a read joins on, as SQL over the secret row `s`: a label names its column, a number is
    /// bound. (Each case is its own statement text, so each gets its own prepared plan.)
    var joinedVersion: SQLQuery {
        switch self {
        case .current: "s.current_version"
        case .pending: "s.pending_version"
        case .previous: "s.previous_version"
        case .number(let version): "\(version)"
        }
    }
}

/// A metadata write (`POST` or `PATCH metadata/:path`): `nil` leaves a field as it is.
public struct MetadataUpdate: Sendable {
    public var maxVersions: Int64?
    public var casRequired: Bool?
    public var deleteVersionAfter: Int64?
    /// Replaced whole by `POST`; merged by `PATCH` (a `nil` value removes a key).
    public var customMetadata: [String: String?]?
    /// `.some(nil)` clears the expiry.
    public var expiresAt: Date??
    public var rotationInterval: Int64?
    public var rotationKind: String??
    /// The rotator's settings as a JSON object's text; `.some(nil)` clears them.
    public var rotationSettings: String??
    /// A cron schedule (checked by the caller with ``CronSchedule``); `.some(nil)` clears it.
    public var rotationSchedule: String??

    public init(
        maxVersions: Int64? = nil, casRequired: Bool? = nil, deleteVersionAfter: Int64? = nil, customMetadata: [String: String?]? = nil,
        expiresAt: Date?? = nil, rotationInterval: Int64? = nil, rotationKind: String?? = nil, rotationSettings: String?? = nil
    ) {
        self.rotationSettings = rotationSettings
        self.maxVersions = maxVersions
        self.casRequired = casRequired
        self.deleteVersionAfter = deleteVersionAfter
        self.customMetadata = customMetadata
        self.expiresAt = expiresAt
        self.rotationInterval = rotationInterval
        self.rotationKind = rotationKind
    }
}
