public import CofferAccess
public import CofferCrypto
import CofferFoundation
import CofferKeys
import CofferStore
public import Foundation

/// The store's side of a staged rotation (Docs/ROTATION.md): a new value is written as the `pending`
/// label, becomes `current` at the finish step, and the old one stays readable as `previous` for a grace
/// period. Each call is one transaction that checks the labels it expects, so a step repeated after a
/// crash, or one racing with a manual write, changes nothing twice and never moves `current` wrongly.
///
/// The caller (the rotation engine) holds a grant with Coffer's `rotate` capability for the secret;
/// these calls do not take `create`/`update`, which a rotation runner's policy does not have.
extension CredentialStore {
    /// Writes `data` as a new version labelled `pending`, if `current` is still `expectedCurrent` and no
    /// other pending version exists. Returns the pending version.
    /// - Throws: ``AccessError`` `.conflict` when the secret changed since the run started or another
    ///   rotation's value is pending; `.notFound` for a missing secret.
    public func writePending(_ grant: Grant, _ path: SecretPath, data: SecureHandle, expectedCurrent: Int64) async throws -> Int64 {
        guard data.bytes.count <= Self.maximumDataBytes else {
            throw AccessError(
                .invalidRequest, "the rotated data is \(data.bytes.count) bytes; a version holds at most \(Self.maximumDataBytes) bytes")
        }
        let sealer = try keys.sealer()
        let id = path.id
        let accessor = grant.accessor
        let now = WallClock.now.roundedToStoredPrecision
        let version = try await database.transaction { conn -> Int64 in
            guard let secret = try Self.metadata(path, sealer: sealer, on: conn, versions: false, lock: true) else {
                throw AccessError(.notFound, "\(path) does not exist")
            }
            guard secret.currentVersion == expectedCurrent else {
                throw AccessError(
                    .conflict,
                    "\(path) was written during the rotation (current version \(secret.currentVersion), the run started from "
                        + "\(expectedCurrent))"
                )
            }
            guard secret.labels.pending == nil else {
                throw AccessError(.conflict, "\(path) already has a pending version (\(secret.labels.pending ?? 0)) from another rotation")
            }
            // A number never given before, even by an earlier attempt that was rolled back.
            let version = secret.nextVersion
            try Self.insertVersion(data, of: secret, version: version, sealer: sealer, at: now, by: accessor, deletion: nil, on: conn)
            try conn.execute(
                """
                UPDATE api_credentials SET pending_version = \(version), version_counter = \(version), updated_at = \(now)
                    WHERE id = \(id)
                """
            )
            try Self.retag(id, sealer: sealer, on: conn)
            return version
        }
        grant.auditFact("pending_version", String(version))
        return version
    }

    /// The finish step: `pending` becomes `current`, the old `current` becomes `previous` until
    /// `now + grace`, the schedule moves on, the failure count resets, and versions beyond `max_versions`
    /// are trimmed (never `previous`). Repeating it after it happened
    /// answers `true` without changing anything.
    /// - Returns: whether `pending` is now current.
    /// - Throws: ``AccessError`` `.conflict` when the labels are not what the run expects (a manual write).
    @discardableResult
    public func promotePending(_ grant: Grant, _ path: SecretPath, pending: Int64, from expectedCurrent: Int64, grace: Int64) async throws
        -> Bool
    {
        let id = path.id
        let now = WallClock.now.roundedToStoredPrecision
        let sealer = try keys.sealer()
        return try await database.transaction { conn -> Bool in
            guard let secret = try Self.metadata(path, sealer: sealer, on: conn, versions: false, lock: true) else {
                throw AccessError(.notFound, "\(path) was deleted during the rotation")
            }
            if secret.currentVersion == pending && secret.labels.pending == nil { return true }
            guard secret.labels.pending == pending, secret.currentVersion == expectedCurrent else {
                throw AccessError(.conflict, "\(path) was written during the rotation; its pending version \(pending) was not made current")
            }
            let next = secret.rotation.nextDue(after: now)
            let mount = try MountStore.require(path.mount, version: 2, sealer: sealer, on: conn)
            let keep = Self.effectiveMaxVersions(key: secret.maxVersions, mount: mount.maxVersions)
            var oldest = secret.oldestVersion
            if pending - keep >= 1 {
                try conn.execute(
                    """
                    DELETE FROM api_credential_versions WHERE id = \(id) AND version <= \(pending - keep) AND version <>
                        \(expectedCurrent)
                    """
                )
                oldest =
                    try conn.queryScalar(Int64.self, "SELECT coalesce(min(version), 0) FROM api_credential_versions WHERE id = \(id)")
                    ?? oldest
            }
            try conn.execute(
                """
                UPDATE api_credentials SET current_version = \(pending), oldest_version = \(oldest), pending_version = NULL,
                    previous_version = \(expectedCurrent > 0 ? expectedCurrent : nil),
                    previous_until = \(now.addingTimeInterval(Double(grace))), last_rotated_at = \(now), next_rotation_at = \(next),
                    rotation_failures = 0, rotation_retry_at = NULL, rotation_last_error = NULL, updated_at = \(now)
                WHERE id = \(id)
                """)
            try Self.retag(id, sealer: sealer, on: conn)
            return true
        }
    }

    /// Rolls a rotation back: the pending version (never current) is dropped. Idempotent.
    public func discardPending(_ grant: Grant, _ path: SecretPath, pending: Int64) async throws {
        let id = path.id
        let sealer = try keys.sealer()
        try await database.transaction { conn in
            guard let secret = try Self.metadata(path, sealer: sealer, on: conn, versions: false, lock: true),
                secret.labels.pending == pending
            else { return }
            try conn.execute("DELETE FROM api_credential_versions WHERE id = \(id) AND version = \(pending)")
            try conn.execute("UPDATE api_credentials SET pending_version = NULL WHERE id = \(id)")
            try Self.retag(id, sealer: sealer, on: conn)
        }
    }

    /// Records a failed run: the count of failures in a row, the error, and when the secret is due again.
    public func recordRotationFailure(_ grant: Grant, _ path: SecretPath, error: String, retryAt: Date) async throws {
        let id = path.id
        try await database.transaction { conn in
            _ = try conn.execute(
                """
                UPDATE api_credentials SET rotation_failures = rotation_failures + 1, rotation_last_error = \(error),
                    rotation_retry_at = \(retryAt.roundedToStoredPrecision)
                WHERE id = \(id)
                """)
        }
    }

    /// Secrets with a rotator and an interval, with their metadata (for due selection and status).
    public func rotationSchedules(_ grant: Grant) async throws -> [SecretMetadata] {
        let sealer = try keys.sealer()
        return try await database.read { conn in
            // One statement for all of them: `make rotate` lists every scheduled credential on each run.
            try conn.query("SELECT \(SecretColumn.row) FROM api_credentials WHERE rotation_kind IS NOT NULL ORDER BY mount, path")
                .map { row in
                    let path = try SecretPath(mount: try row.decode(SecretColumn.mount), path: try row.decode(SecretColumn.path))
                    return try Self.metadata(path, row: row, sealer: sealer, on: conn, versions: false)
                }
        }
    }

    /// One secret's metadata for a rotation (no versions).
    public func rotationMetadata(_ grant: Grant, _ path: SecretPath) async throws -> SecretMetadata {
        let sealer = try keys.sealer()
        guard let found = try await database.read({ conn in try Self.metadata(path, sealer: sealer, on: conn, versions: false) }) else {
            throw AccessError(.notFound, "\(path) does not exist")
        }
        return found
    }
}
