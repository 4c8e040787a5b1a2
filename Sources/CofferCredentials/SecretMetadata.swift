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
    /// Oldest first.
    public let versions: [VersionMetadata]
}

/// The rotation fields the rotation runner uses (stored now, edited through metadata).
public struct RotationSchedule: Sendable, Equatable {
    /// Seconds between rotations; 0 = not scheduled.
    public var interval: Int64
    /// The rotator's name (`random`, `postgres-password`, …), or `nil`.
    public var kind: String?
    public var lastRotatedAt: Date?
    public var nextDueAt: Date?

    public init(interval: Int64 = 0, kind: String? = nil, lastRotatedAt: Date? = nil, nextDueAt: Date? = nil) {
        self.interval = interval
        self.kind = kind
        self.lastRotatedAt = lastRotatedAt
        self.nextDueAt = nextDueAt
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

    public init(maxVersions: Int64? = nil, casRequired: Bool? = nil, deleteVersionAfter: Int64? = nil, customMetadata: [String: String?]? = nil,
                expiresAt: Date?? = nil, rotationInterval: Int64? = nil, rotationKind: String?? = nil) {
        self.maxVersions = maxVersions
        self.casRequired = casRequired
        self.deleteVersionAfter = deleteVersionAfter
        self.customMetadata = customMetadata
        self.expiresAt = expiresAt
        self.rotationInterval = rotationInterval
        self.rotationKind = rotationKind
    }
}
