import CofferKeys
import CofferStore
import Foundation

/// The columns of `api_credentials` that make a secret's metadata, its tag and its usage, selected in this order
/// and read by position (``CredentialStore`` never selects `*`: a column a later migration adds is read only
/// once it is named here).
enum SecretColumn: String, TaggedColumn {
    case id, mount, path, uid = "secret_uid", currentVersion = "current_version", oldestVersion = "oldest_version"
    case versionCounter = "version_counter", maxVersions = "max_versions", casRequired = "cas_required"
    case deleteVersionAfter = "delete_version_after", customMetadata = "custom_metadata", createdBy = "created_by"
    case createdAt = "created_at", updatedAt = "updated_at", expiresAt = "expires_at", lastAccessedAt = "last_accessed_at"
    case accessCount = "access_count", rotationInterval = "rotation_interval", rotationKind = "rotation_kind"
    case lastRotatedAt = "last_rotated_at", nextRotationAt = "next_rotation_at", rotationSchedule = "rotation_schedule"
    case rotationSettings = "rotation_settings", rotationFailures = "rotation_failures", rotationRetryAt = "rotation_retry_at"
    case rotationLastError = "rotation_last_error", pendingVersion = "pending_version", previousVersion = "previous_version"
    case previousUntil = "previous_until", authTerm = "auth_term", authTag = "auth_tag"
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
