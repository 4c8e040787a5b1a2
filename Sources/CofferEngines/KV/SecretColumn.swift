import CofferStore

/// The columns of `api_credentials` that make a secret's metadata, its tag and its usage, selected in this order
/// and read by position (``CredentialStore`` never selects `*`: a column a later migration adds is read only
/// once it is named here). The tag check reads its fields by name from the same select list.
enum SecretColumn: String, SQLColumn {
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
