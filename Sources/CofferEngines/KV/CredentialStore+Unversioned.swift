public import CofferAccess
public import CofferCrypto
import CofferFoundation
import CofferKeys
import CofferStore
import Foundation

/// Vault's KV version 1 over the same tables as version 2: a secret keeps one value, written as a new
/// version that replaces the one before (so a version number is never reused, and every value is sealed and
/// bound to its place exactly as in version 2). There is no metadata, no check-and-set and no soft delete;
/// a delete removes the secret. A tune to version 2 turns each value into the secret's current version.
extension CredentialStore {
    /// The secret's value; `nil` when there is none.
    /// - Throws: ``AccessErrorCode/otherEngineVersion`` on a version 2 engine; ``AccessError`` `.notFound` for no engine.
    public func readUnversioned(_ grant: Grant, _ path: SecretPath) async throws -> SecureHandle? {
        try Self.authoriseUnversioned(grant, .read, path)
        let sealer = try keys.sealer()
        let id = path.id
        let now = WallClock.now
        let found = try await database.read { conn -> (Int64, EncryptedValue, String?)? in
            _ = try MountStore.require(path.mount, version: 1, sealer: sealer, on: conn)
            guard
                let row = try conn.queryFirst(
                    """
                    SELECT \(columns: SecretColumn.self, of: "s"), \(columns: VersionColumn.self, of: "v"),
                           \(columns: SealedValueColumn.self, of: "v")
                    FROM api_credentials s
                    LEFT JOIN api_credential_versions v ON v.id = s.id AND v.version = s.current_version
                    WHERE s.id = \(id)
                    """)
            else { return nil }
            try Self.verify(row, id: id, sealer: sealer)
            let version = row.advanced(by: SecretColumn.allCases.count)
            guard try version.decode(VersionColumn.destroyed, as: Bool?.self) == false else { return nil }
            if let expires = try row.decode(SecretColumn.expiresAt, as: Date?.self), expires <= now { return nil }
            guard let value = try SealedValueColumn.value(in: version.advanced(by: VersionColumn.allCases.count)) else { return nil }
            return (try version.decode(VersionColumn.version), value, try row.decode(SecretColumn.uid))
        }
        guard let (version, encrypted, uid) = found else { return nil }
        usage.record(id, at: now)
        return SecureHandle(try sealer.open(encrypted, binding: Self.binding(id, uid: uid, version: version)))
    }

    /// Replaces the secret's value (creating the secret when it is new: the `create` capability, else `update`).
    /// - Parameter data: a JSON object's text, at most ``maximumDataBytes``.
    public func writeUnversioned(_ grant: Grant, _ path: SecretPath, data: SecureHandle) async throws {
        guard data.bytes.count <= Self.maximumDataBytes else {
            throw AccessError(
                .invalidRequest, "the data is \(data.bytes.count) bytes; a secret holds at most \(Self.maximumDataBytes) bytes")
        }
        let sealer = try keys.sealer()
        let id = path.id
        let accessor = grant.accessor
        let now = WallClock.now.roundedToStoredPrecision
        let version = try await grant.transaction(on: database) { conn -> Int64 in
            _ = try MountStore.require(path.mount, version: 1, sealer: sealer, on: conn)
            let (secret, created) = try Self.lockedRow(path, sealer: sealer, on: conn, accessor: accessor, now: now)
            try grant.require(created ? .create : .update, on: path.unversionedRequestPath)
            let version = secret.nextVersion
            try Self.insertVersion(data, of: secret, version: version, sealer: sealer, at: now, by: accessor, deletion: nil, on: conn)
            try conn.execute("DELETE FROM api_credential_versions WHERE id = \(id) AND version < \(version)")
            try conn.execute(
                """
                UPDATE api_credentials SET current_version = \(version), oldest_version = \(version), version_counter = \(version),
                                           updated_at = \(now) WHERE id = \(id)
                """)
            try Self.retag(id, sealer: sealer, on: conn)
            return version
        }
        grant.auditFact("version", String(version))
    }

    /// Deletes the secret and its value for good; quiet when there is nothing to delete, as Vault is.
    public func deleteUnversioned(_ grant: Grant, _ path: SecretPath) async throws {
        try Self.authoriseUnversioned(grant, .delete, path)
        let id = path.id
        let sealer = try keys.sealer()
        try await grant.transaction(on: database) { conn in
            _ = try MountStore.require(path.mount, version: 1, sealer: sealer, on: conn)
            try conn.execute("DELETE FROM api_credential_versions WHERE id = \(id)")
            try conn.execute("DELETE FROM api_credentials WHERE id = \(id)")
        }
    }

    /// The keys directly under `folder` of a version 1 engine.
    /// - Throws: ``AccessError`` `.notFound` when there are none (Vault's 404 for an empty list).
    public func listUnversioned(_ grant: Grant, mount: String, folder: String) async throws -> [String] {
        try SecretPath.validate(folder, folder: true)
        let listed = folder.isEmpty || folder.hasSuffix("/") ? "\(mount)/\(folder)" : "\(mount)/\(folder)/"
        if grant.path != listed, grant.path + "/" != listed {
            try grant.require(.list, on: listed)
        }
        return try await keys(mount: mount, folder: folder, version: 1)
    }

    /// As ``authorise(_:_:_:_:decidedAs:)`` for a version 1 secret, whose request path is `mount/path`.
    static func authoriseUnversioned(_ grant: Grant, _ capability: Capabilities, _ path: SecretPath) throws {
        if grant.path == path.unversionedRequestPath { return }
        try grant.require(capability, on: path.unversionedRequestPath)
    }
}
