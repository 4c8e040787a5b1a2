import CofferKeys
import CofferStore
import Foundation

/// The columns of `api_credentials` that a secret's tag covers, with its id and the tag: everything that decides
/// which version is read, how many are kept, when it expires, and what rotates it how. The secret read (every
/// service's hot path) selects these and no more; a whole row is these then ``UntaggedSecretColumn``
/// (``SecretColumn/row``). Selected in this order and read by position (``CredentialStore`` never selects `*`: a
/// column a later migration adds is read only once it is named here).
enum SecretColumn: String, TaggedColumn {
    case id, mount, path, uid = "secret_uid", currentVersion = "current_version", oldestVersion = "oldest_version"
    case versionCounter = "version_counter", pendingVersion = "pending_version", previousVersion = "previous_version"
    case previousUntil = "previous_until", maxVersions = "max_versions", casRequired = "cas_required"
    case deleteVersionAfter = "delete_version_after", expiresAt = "expires_at", customMetadata = "custom_metadata"
    case rotationInterval = "rotation_interval", rotationKind = "rotation_kind", rotationSchedule = "rotation_schedule"
    case rotationSettings = "rotation_settings", authTerm = "auth_term", authTag = "auth_tag"

    /// A whole row's select list: the tagged columns, then the untagged ones.
    static var row: SQLQuery { "\(columns: SecretColumn.self), \(columns: UntaggedSecretColumn.self)" }
}

/// The columns of `api_credentials` its tag does not cover: who made it and when, its usage, and the rotation
/// schedule's moving state (when it is next due, when it last ran, failures and backoff), which the runner moves on
/// every run. A database writer can make a rotation come early or late with them, never change what it writes or
/// which version is current (Docs/THREAT_MODEL.md). Read from a whole row at ``offset``.
enum UntaggedSecretColumn: String, SQLColumn {
    case createdBy = "created_by", createdAt = "created_at", updatedAt = "updated_at", lastAccessedAt = "last_accessed_at"
    case accessCount = "access_count", lastRotatedAt = "last_rotated_at", nextRotationAt = "next_rotation_at"
    case rotationFailures = "rotation_failures", rotationRetryAt = "rotation_retry_at", rotationLastError = "rotation_last_error"

    /// Where these start in a whole row (``SecretColumn/row``).
    static var offset: Int { SecretColumn.allCases.count }
}

/// An `api_credentials` row as ``KeyHierarchy`` re-tags it: the fields its tag covers and the tag.
struct SecretTagRecord: TaggedRecord {
    typealias Column = SecretColumn
    let authenticated: AuthenticatedRow
    let tag: RowTag?

    init(row: SQLRow) throws {
        authenticated = try CredentialStore.authenticated(row, id: try row.decode(SecretColumn.id))
        tag = try row.tag(SecretColumn.self)
    }
}

/// The columns of `api_credential_versions` that make a version's metadata (its value is ``SealedValueColumn``'s,
/// selected only where it is opened).
enum VersionColumn: String, SQLColumn {
    case version, createdAt = "created_at", createdBy = "created_by", deletionTime = "deletion_time", destroyed
}

/// The columns of a version's sealed value.
enum SealedValueColumn: String, SQLColumn {
    case keyTerm = "key_term", sealed

    /// The sealed value in `row` (selecting these columns from its column 0); `nil` when there is none (no such
    /// version, or a destroyed one).
    static func value(in row: SQLRow) throws -> EncryptedValue? {
        guard let term: Int64 = try row.decode(keyTerm), let sealed: [UInt8] = try row.decode(Self.sealed) else { return nil }
        return EncryptedValue(term: term, sealed: sealed)
    }
}
