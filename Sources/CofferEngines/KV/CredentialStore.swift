public import CofferAccess
public import CofferCrypto
public import CofferFoundation
public import CofferKeys
public import CofferStore
import Foundation

/// What a read of a secret version finds.
public enum SecretRead: Sendable {
    /// The version's data (JSON object text, in guarded memory: drop it once the answer is written).
    case found(SecretVersion)
    /// Soft-deleted, past `delete_version_after`, or destroyed: Vault answers 404 with the metadata.
    case deleted(VersionMetadata, customMetadata: [String: String]?)
}

/// A decrypted version.
public struct SecretVersion: Sendable {
    public let metadata: VersionMetadata
    public let customMetadata: [String: String]?
    /// The data, a JSON object's compact text.
    public let data: SecureHandle
}

/// The credentials store (`api_credentials`): versioned secrets under KV v2 mounts, each version's data
/// sealed under the keyring and bound to `(api_credential_versions, mount/path, version)`.
///
/// Every operation takes the ``Grant`` of the request it serves, so none runs around the Gate; writes
/// refine the grant (create for a new secret, update for an existing one, as Vault does).
public final class CredentialStore: Sendable {
    package let database: any Database
    package let keys: KeyHierarchy
    public let mounts: MountStore
    public let usage: UsageTracker

    /// The largest data of one version, as sealed (compact JSON).
    public static let maximumDataBytes = 512 * 1024
    /// Versions kept when neither the secret nor its engine sets `max_versions`.
    public static let defaultMaxVersions: Int64 = 10
    /// The table and binding of sealed versions (for rewrap).
    /// A version sealed before secrets had their own random id has no `binding_id` and is bound to `mount/path`.
    public static let encryptedTable = EncryptedTable(
        table: "api_credential_versions", idColumn: "coalesce(binding_id, id)", versionColumn: "version")

    public init(database: any Database, keys: KeyHierarchy) {
        self.database = database
        self.keys = keys
        self.mounts = MountStore(database: database, keys: keys)
        self.usage = UsageTracker(database: database)
        keys.register(Self.authenticatedTables)
    }

    // MARK: authorisation

    /// The one check every store operation makes on the secret it acts on: it goes ahead when the grant's
    /// resource *is* that secret under one of the names a request gives it (`mount/<form>/path`: the Gate
    /// decided on it, and the operation refines create vs update), and otherwise only when the caller's own
    /// policies allow `capability` on `path`'s `form` (a decision of its own, as `grant.require(_:on:)` makes).
    /// So no module can act through the store on a secret its caller could not reach.
    static func authorise(_ grant: Grant, _ capability: Capabilities, _ path: SecretPath, _ form: String, decidedAs forms: [String]) throws
    {
        for decided in forms where grant.path == path.requestPath(decided) { return }
        try grant.require(capability, on: path.requestPath(form))
    }

    /// The binding of a secret's version: `mount/path`, the secret's random id (fixed when it was created, so a
    /// version of a deleted and re-created secret does not open under the new one), and the version number.
    static func binding(_ id: String, uid: String?, version: Int64) -> RecordBinding {
        RecordBinding(table: encryptedTable.bindingTable, id: bindingID(id, uid: uid), version: version)
    }

    static func bindingID(_ id: String, uid: String?) -> String {
        uid.map { "\(id)#\($0)" } ?? id
    }

    // MARK: authenticated metadata

    /// A secret's authenticated fields, from a row selecting ``SecretColumn`` (from its column 0): everything that
    /// decides which version is read, how many are kept, when it expires, and what rotates it how. Not covered:
    /// usage counters, and the rotation schedule's state (when it is next due, when it last ran, failures and
    /// backoff), which the runner moves on every run; a database writer can make a rotation come early or late,
    /// never change what it writes or which version is current (Docs/THREAT_MODEL.md).
    static func authenticated(_ row: SQLRow, id: String) throws -> AuthenticatedRow {
        var fields = AuthenticatedRow("api_credentials", key: id)
        for column in [SecretColumn.mount, .path, .uid, .customMetadata, .rotationKind, .rotationSchedule, .rotationSettings] {
            fields.add(column.rawValue, try row.decode(column, as: String?.self))
        }
        for column in [
            SecretColumn.currentVersion, .oldestVersion, .versionCounter, .pendingVersion, .previousVersion, .maxVersions,
            .deleteVersionAfter, .rotationInterval
        ] {
            fields.add(column.rawValue, try row.decode(column, as: Int64?.self))
        }
        fields.add(SecretColumn.casRequired.rawValue, try row.decode(SecretColumn.casRequired, as: Bool.self))
        for column in [SecretColumn.previousUntil, .expiresAt] {
            fields.add(column.rawValue, try row.decode(column, as: Date?.self))
        }
        return fields
    }

    /// Checks a secret's tag against its row (selecting ``SecretColumn`` from its column 0).
    static func verify(_ row: SQLRow, id: String, sealer: Sealer) throws {
        try sealer.verify(try authenticated(row, id: id), try row.tag(SecretColumn.self))
    }

    /// Tags the secret's row as it now stands. Called after every change in the transaction that made it, and
    /// only after the row was read and verified in that transaction (so a tampered row is never re-tagged).
    static func retag(_ id: String, sealer: Sealer, on conn: any SQLConnection) throws {
        guard let row = try conn.queryFirst("SELECT \(columns: SecretColumn.self) FROM api_credentials WHERE id = \(id)") else { return }
        let tag = try sealer.tag(try authenticated(row, id: id))
        try conn.execute("UPDATE api_credentials SET auth_term = \(tag.term), auth_tag = \(tag.tag) WHERE id = \(id)")
    }

    /// The tables of the store and its mounts whose rows carry authentication tags.
    public static var authenticatedTables: [AuthenticatedTable] { [authenticatedTable, MountStore.authenticatedTable] }

    /// The table as ``KeyHierarchy`` sees it.
    public static let authenticatedTable = AuthenticatedTable(SecretTagRecord.self, table: "api_credentials", key: [.id])

    // MARK: reading

    /// Reads `version` (the current one when `nil`).
    /// - Throws: ``AccessError`` `.notFound` for an unknown secret or version (or an expired secret),
    ///   `.invalidRequest` for a version below 0.
    public func read(_ grant: Grant, _ path: SecretPath, version: Int64? = nil) async throws -> SecretRead {
        if let version, version < 0 {
            throw AccessError(.invalidRequest, "version must be 0 (the current one) or a positive version number")
        }
        return try await read(grant, path, select: version.map { $0 == 0 ? .current : .number($0) } ?? .current)
    }

    /// Reads the version `select` names: the current one, a number, or a rotation's `pending` or `previous` label.
    /// - Throws: ``AccessError`` `.notFound` also when the label is not set (or `previous` is past its grace period).
    public func read(_ grant: Grant, _ path: SecretPath, select: VersionSelector) async throws -> SecretRead {
        try Self.authorise(grant, .read, path, "data", decidedAs: ["data", "subkeys"])
        let sealer = try keys.sealer()
        let id = path.id
        let now = WallClock.now
        // One statement for the mount, the secret and the version: this is every service's hot path. Its columns, in
        // order: the Gate's epoch, then each table's record (``HotRead``).
        let found = try await database.read { conn -> (VersionMetadata, [String: String]?, EncryptedValue?, String?)? in
            guard
                let row = try conn.queryFirst(
                    """
                    SELECT \(unsafeRaw: Grant.epochColumn) AS gate_epoch, \(columns: MountColumn.self, of: "m"),
                           \(columns: SecretColumn.self, of: "s"), \(columns: VersionColumn.self, of: "v"),
                           \(columns: SealedValueColumn.self, of: "v")
                    FROM kv_mounts m
                    LEFT JOIN api_credentials s ON s.id = \(id) AND s.mount = m.path
                    LEFT JOIN api_credential_versions v
                           ON v.id = s.id AND v.version = \(select.joinedVersion)
                    WHERE m.path = \(path.mount)
                    """)
            else {
                throw MountStore.notMounted(path.mount)
            }
            // Before anything else in the row is used: the token's cached identity still holds (Gate's epoch check).
            try grant.confirmIdentity(epoch: try row.decode(Int64?.self, at: 0))
            let engine = try MountStore.mount(row.advanced(by: HotRead.mount), sealer: sealer).version
            guard engine == 2 else { throw AccessError.otherEngineVersion(mount: path.mount, version: engine) }
            let secret = row.advanced(by: HotRead.secret)
            guard try secret.decode(SecretColumn.id, as: String?.self) != nil else { return nil }
            try Self.verify(secret, id: id, sealer: sealer)
            let version = row.advanced(by: HotRead.version)
            guard try version.decode(VersionColumn.version, as: Int64?.self) != nil else { return nil }
            if let expires = try secret.decode(SecretColumn.expiresAt, as: Date?.self), expires <= now { return nil }
            if select == .previous, try secret.decode(SecretColumn.previousUntil, as: Date?.self).map({ $0 <= now }) ?? true {
                return nil
            }
            let customText: String? = try secret.decode(SecretColumn.customMetadata)
            let custom = try customText.map { try JSONDecoder().decode([String: String].self, from: Data($0.utf8)) }
            return (
                try Self.version(version), custom, try SealedValueColumn.value(in: row.advanced(by: HotRead.sealed)),
                try secret.decode(SecretColumn.uid, as: String?.self)
            )
        }
        guard let (metadata, custom, encrypted, uid) = found else { throw AccessError.missing(path.description) }
        usage.record(id, at: now)
        guard !metadata.isDeleted(at: now), let encrypted else { return .deleted(metadata, customMetadata: custom) }
        let data = try sealer.open(encrypted, binding: Self.binding(id, uid: uid, version: metadata.version))
        return .found(SecretVersion(metadata: metadata, customMetadata: custom, data: SecureHandle(data)))
    }

    /// Where each record's columns start in the read's one statement (after the epoch at 0).
    private enum HotRead {
        static let mount = 1
        static let secret = mount + MountColumn.allCases.count
        static let version = secret + SecretColumn.allCases.count
        static let sealed = version + VersionColumn.allCases.count
    }

    /// The secret's metadata and every version it keeps.
    /// - Throws: ``AccessError`` `.notFound`.
    public func metadata(_ grant: Grant, _ path: SecretPath) async throws -> SecretMetadata {
        try Self.authorise(grant, .read, path, "metadata", decidedAs: ["metadata"])
        let sealer = try keys.sealer()
        let found = try await database.read { conn in
            _ = try MountStore.require(path.mount, version: 2, sealer: sealer, on: conn)
            return try Self.metadata(path, sealer: sealer, on: conn, versions: true)
        }
        guard let found else { throw AccessError.missing(path.description) }
        return found
    }

    /// The keys directly under `folder` (`""` for the mount's top): names, and sub-folders ending in `/`.
    /// - Throws: ``AccessError`` `.notFound` when there are none (Vault's 404 for an empty list).
    public func list(_ grant: Grant, mount: String, folder: String) async throws -> [String] {
        try SecretPath.validate(folder, folder: true)
        let listed = folder.isEmpty ? "\(mount)/metadata" : "\(mount)/metadata/\(folder)"
        if grant.path != listed, grant.path + "/" != listed, grant.path != listed + "/" {
            try grant.require(.list, on: folder.isEmpty || folder.hasSuffix("/") ? listed : listed + "/")
        }
        return try await keys(mount: mount, folder: folder, version: 2)
    }

    /// The names and sub-folders directly under `folder` of a KV engine of `version`, sorted.
    /// - Throws: ``AccessError`` `.notFound` when there are none.
    func keys(mount: String, folder: String, version: Int) async throws -> [String] {
        let prefix = folder.isEmpty || folder.hasSuffix("/") ? folder : folder + "/"
        let sealer = try self.keys.sealer()
        let paths = try await database.read { conn -> [String] in
            _ = try MountStore.require(mount, version: version, sealer: sealer, on: conn)
            return try conn.query(
                """
                SELECT path FROM api_credentials WHERE mount = \(mount) AND substr(path, 1,
                    CAST(\(prefix.unicodeScalars.count) AS INTEGER)) = \(prefix) ORDER BY path
                """
            ).map { try $0.decode(String.self, at: 0) }
        }
        let keys = ListedKeys.under(prefix, in: paths)
        guard !keys.isEmpty else { throw AccessError.missing("\(mount)/\(prefix)") }
        return keys
    }

    // MARK: writing

    /// Writes a new version.
    /// - Parameters:
    ///   - data: a JSON object's text (the caller parsed and checked it), at most ``maximumDataBytes``.
    ///   - cas: check-and-set: the write happens only if this is the current version (0: only if the secret
    ///     does not exist).
    /// - Throws: ``AccessError`` `.invalidRequest` for a CAS mismatch or a missing CAS where required, data
    ///   too large; `.permissionDenied` when the grant allows `update` but the secret is new (or `create`
    ///   but it exists).
    public func write(_ grant: Grant, _ path: SecretPath, data: SecureHandle, cas: Int64?) async throws -> (
        VersionMetadata, [String: String]?
    ) {
        try await write(grant, path, data: data, cas: cas, patching: false)
    }

    /// A write; a patch's write needs Vault's `patch` capability instead of `create`/`update`.
    private func write(_ grant: Grant, _ path: SecretPath, data: SecureHandle, cas: Int64?, patching: Bool) async throws
        -> (VersionMetadata, [String: String]?)
    {
        guard data.bytes.count <= Self.maximumDataBytes else {
            throw AccessError(
                .invalidRequest, "the data is \(data.bytes.count) bytes; a version holds at most \(Self.maximumDataBytes) bytes")
        }
        if let cas, cas < 0 { throw AccessError(.invalidRequest, "options.cas must be 0 or a positive version number") }
        let sealer = try keys.sealer()
        let id = path.id
        let accessor = grant.accessor
        let now = WallClock.now.roundedToStoredPrecision
        let written = try await grant.transaction(on: database) { conn -> (VersionMetadata, [String: String]?) in
            let mount = try MountStore.require(path.mount, version: 2, sealer: sealer, on: conn)
            let (secret, created) = try Self.lockedRow(path, sealer: sealer, on: conn, accessor: accessor, now: now)
            try grant.require(patching ? .patch : created ? .create : .update, on: path.requestPath("data"))
            if mount.casRequired || secret.casRequired, cas == nil {
                throw AccessError(.invalidRequest, "check-and-set parameter required for this call")
            }
            if let cas, cas != secret.currentVersion {
                throw AccessError(.invalidRequest, "check-and-set parameter did not match the current version")
            }
            // After a rotation's pending version; a write ends that rotation (its finish step then fails).
            let version = secret.nextVersion
            let after = Self.effectiveDeleteAfter(key: secret.deleteVersionAfter, mount: mount.deleteVersionAfter)
            let deletion = after > 0 ? now.addingTimeInterval(Double(after)) : nil
            try Self.insertVersion(data, of: secret, version: version, sealer: sealer, at: now, by: accessor, deletion: deletion, on: conn)
            let keep = Self.effectiveMaxVersions(key: secret.maxVersions, mount: mount.maxVersions)
            var oldest = secret.oldestVersion
            if version - keep >= 1 {
                try conn.execute("DELETE FROM api_credential_versions WHERE id = \(id) AND version <= \(version - keep)")
                oldest = max(oldest, version - keep + 1)
            }
            try conn.execute(
                """
                UPDATE api_credentials SET current_version = \(version), oldest_version = \(oldest), version_counter = \(version),
                                           pending_version = NULL, updated_at = \(now)
                WHERE id = \(id)
                """)
            try Self.retag(id, sealer: sealer, on: conn)
            return (
                VersionMetadata(version: version, createdAt: now, createdBy: accessor, deletionTime: deletion, destroyed: false),
                secret.customMetadata
            )
        }
        grant.auditFact("version", String(written.0.version))
        return written
    }

    /// Applies a JSON merge patch (RFC 7386) to the current version and writes the result as a new version.
    /// - Throws: ``AccessError`` `.notFound` when there is no live current version to patch; as ``write(_:_:data:cas:)``.
    public func patch(_ grant: Grant, _ path: SecretPath, patch: JSONValue, cas: Int64?) async throws -> (
        VersionMetadata, [String: String]?
    ) {
        guard case .object = patch else { throw AccessError(.invalidRequest, "data must be a JSON object") }
        guard case .found(let current) = try await read(grant, path) else {
            throw AccessError(.notFound, "the current version of \(path) is deleted; write a new version instead of patching")
        }
        guard let old = current.data.bytes.withUnsafeBytes({ JSONValue.parse($0) }) else {
            throw AccessError(.invalidRequest, "the current version of \(path) is not a JSON object")
        }
        var merged = try old.merging(patch: patch).encoded()
        defer { merged.withUnsafeMutableBytes { Wipe.raw($0) } }
        // The patch applies to the version it was computed from: a concurrent write makes it fail, not vanish.
        return try await write(
            grant, path, data: SecureHandle(SecureBytes(copying: merged)), cas: cas ?? current.metadata.version, patching: true)
    }

    /// Writes metadata, creating the secret (with no versions) if it does not exist.
    /// - Parameter merge: `PATCH` semantics for `custom_metadata` (merge, `nil` removes) instead of `POST`'s replace.
    public func writeMetadata(_ grant: Grant, _ path: SecretPath, _ update: MetadataUpdate, merge: Bool) async throws {
        if let max = update.maxVersions, max < 0 { throw AccessError(.invalidRequest, "max_versions cannot be negative") }
        if let after = update.deleteVersionAfter, after < 0 {
            throw AccessError(.invalidRequest, "delete_version_after cannot be negative")
        }
        if let interval = update.rotationInterval, interval < 0 {
            throw AccessError(.invalidRequest, "rotation_interval cannot be negative")
        }
        if let custom = update.customMetadata {
            guard custom.count <= 64, custom.allSatisfy({ $0.key.utf8.count <= 128 && ($0.value?.utf8.count ?? 0) <= 512 }) else {
                throw AccessError(
                    .invalidRequest, "custom_metadata holds at most 64 keys of up to 128 bytes with values of up to 512 bytes")
            }
        }
        let id = path.id
        let accessor = grant.accessor
        let now = WallClock.now.roundedToStoredPrecision
        let sealer = try keys.sealer()
        try await grant.transaction(on: database) { conn in
            _ = try MountStore.require(path.mount, version: 2, sealer: sealer, on: conn)
            let secret: SecretMetadata
            if merge {
                try grant.require(.patch, on: path.requestPath("metadata"))
                guard let found = try Self.metadata(path, sealer: sealer, on: conn, versions: false, lock: true) else {
                    throw AccessError(.notFound, "no metadata at \(path) to patch; POST creates it")
                }
                secret = found
            } else {
                let (row, created) = try Self.lockedRow(path, sealer: sealer, on: conn, accessor: accessor, now: now)
                try grant.require(created ? .create : .update, on: path.requestPath("metadata"))
                secret = row
            }
            var custom = secret.customMetadata
            if let changes = update.customMetadata {
                var next = merge ? custom ?? [:] : [:]
                for (key, value) in changes { next[key] = value }
                custom = next
            }
            let customText = try custom.map { try JSONText.encode($0) }
            let rotation = secret.rotation
            let interval = update.rotationInterval ?? rotation.interval
            let kind = update.rotationKind ?? rotation.kind
            let schedule: String? = update.rotationSchedule ?? rotation.schedule
            // A new interval moves the next due time: from the last rotation, or from now for one never rotated.
            let nextDue: Date?
            if let schedule {
                // A cron schedule: the next matching minute (kept while neither the schedule nor the interval changes).
                nextDue =
                    update.rotationSchedule == nil && update.rotationInterval == nil && rotation.nextDueAt != nil
                    ? rotation.nextDueAt : (try? CronSchedule(schedule))?.next(after: now)
            } else {
                nextDue =
                    interval == 0
                    ? nil
                    : update.rotationInterval == nil && update.rotationSchedule == nil
                        ? rotation.nextDueAt
                        : (rotation.lastRotatedAt ?? now).addingTimeInterval(Double(interval))
            }
            let expires: Date? = update.expiresAt ?? secret.expiresAt
            let settings: String? = update.rotationSettings ?? rotation.settings
            try conn.execute(
                """
                UPDATE api_credentials SET max_versions = \(update.maxVersions ?? secret.maxVersions),
                    cas_required = \(update.casRequired ?? secret.casRequired),
                    delete_version_after = \(update.deleteVersionAfter ?? secret.deleteVersionAfter),
                    custom_metadata = \(customText), expires_at = \(expires?.roundedToStoredPrecision),
                    rotation_interval = \(interval), rotation_kind = \(kind), next_rotation_at = \(nextDue?.roundedToStoredPrecision),
                    rotation_settings = \(settings), rotation_schedule = \(schedule),
                    updated_at = \(now)
                WHERE id = \(id)
                """)
            // A lower max_versions trims at once, as Vault does on the next write; doing it now keeps reads honest.
            if secret.currentVersion > 0 {
                let current = secret.currentVersion
                let mount = try MountStore.require(path.mount, version: 2, sealer: sealer, on: conn)
                let keep = Self.effectiveMaxVersions(key: update.maxVersions ?? secret.maxVersions, mount: mount.maxVersions)
                if current - keep >= 1 {
                    try conn.execute("DELETE FROM api_credential_versions WHERE id = \(id) AND version <= \(current - keep)")
                    try conn.execute(
                        """
                        UPDATE api_credentials SET oldest_version = \(current - keep + 1) WHERE id = \(id) AND oldest_version <
                            \(current - keep + 1)
                        """
                    )
                }
            }
            try Self.retag(id, sealer: sealer, on: conn)
        }
    }

    /// Deletes the secret, every version and its metadata; the next write starts again at version 1.
    /// Answers quietly when there is nothing to delete, as Vault does.
    public func deleteMetadata(_ grant: Grant, _ path: SecretPath) async throws {
        try grant.require(.delete, on: path.requestPath("metadata"))
        let id = path.id
        let sealer = try keys.sealer()
        try await grant.transaction(on: database) { conn in
            _ = try MountStore.require(path.mount, version: 2, sealer: sealer, on: conn)
            try conn.execute("DELETE FROM api_credential_versions WHERE id = \(id)")
            try conn.execute("DELETE FROM api_credentials WHERE id = \(id)")
        }
    }

    /// What a version change does.
    public enum VersionChange: String, Sendable {
        /// Soft delete: sets the deletion time; reversible.
        case delete
        /// Clears the deletion time.
        case undelete
        /// Drops the data for good.
        case destroy
    }

    /// Soft-deletes, undeletes or destroys `versions` (the current one when `nil`: `DELETE data/:path`).
    /// Unknown versions are skipped, and destroyed ones are never brought back, as Vault does.
    public func change(_ grant: Grant, _ path: SecretPath, _ change: VersionChange, versions: [Int64]?) async throws {
        if let versions {
            guard !versions.isEmpty else {
                throw AccessError(.invalidRequest, "versions is required: a list of version numbers, such as [1, 2]")
            }
            guard versions.allSatisfy({ $0 > 0 }) else { throw AccessError(.invalidRequest, "versions must be positive version numbers") }
            guard versions.count <= 1000 else { throw AccessError(.invalidRequest, "at most 1000 versions per call") }
        }
        if versions == nil {
            try grant.require(.delete, on: path.requestPath("data")) // DELETE data/:path
        } else {
            try grant.require(.update, on: path.requestPath(change.rawValue))
        }
        let id = path.id
        let now = WallClock.now.roundedToStoredPrecision
        let sealer = try keys.sealer()
        let changed = try await grant.transaction(on: database) { conn -> [Int64] in
            _ = try MountStore.require(path.mount, version: 2, sealer: sealer, on: conn)
            guard let secret = try Self.metadata(path, sealer: sealer, on: conn, versions: false) else { return [] }
            let targets = versions ?? (secret.currentVersion > 0 ? [secret.currentVersion] : [])
            var changed: [Int64] = []
            for version in Set(targets).sorted() {
                let count: Int
                switch change {
                case .delete:
                    count = try conn.execute(
                        """
                        UPDATE api_credential_versions SET deletion_time = \(now)
                        WHERE id = \(id) AND version = \(version) AND destroyed = \(false)
                            AND (deletion_time IS NULL OR deletion_time > \(now))
                        """)
                case .undelete:
                    count = try conn.execute(
                        """
                        UPDATE api_credential_versions SET deletion_time = NULL WHERE id = \(id) AND version = \(version)
                            AND destroyed = \(false)
                        """)
                case .destroy:
                    count = try conn.execute(
                        """
                        UPDATE api_credential_versions SET destroyed = \(true), key_term = NULL, sealed = NULL
                        WHERE id = \(id) AND version = \(version) AND destroyed = \(false)
                        """)
                }
                if count > 0 { changed.append(version) }
            }
            return changed
        }
        grant.auditFact("versions", changed.map(String.init).joined(separator: ","))
    }

    // MARK: engine settings

    /// The engine's settings (`<mount>/config`).
    public func config(_ grant: Grant, mount: String) async throws -> KVMount {
        try grant.require(.read, on: "\(mount)/config")
        let sealer = try keys.sealer()
        return try await database.read { conn in try MountStore.require(mount, version: 2, sealer: sealer, on: conn) }
    }

    // MARK: rows

    static func effectiveMaxVersions(key: Int64, mount: Int64) -> Int64 {
        let larger = max(key, mount)
        return larger == 0 ? defaultMaxVersions : larger
    }

    static func effectiveDeleteAfter(key: Int64, mount: Int64) -> Int64 {
        switch (key, mount) {
        case (0, let value), (let value, 0): value
        default: min(key, mount)
        }
    }

    /// The secret's row, and with `lock` held for the rest of the transaction (PostgreSQL `FOR UPDATE`;
    /// SQLite's `BEGIN IMMEDIATE` already lets one writer in at a time).
    static func metadata(_ path: SecretPath, sealer: Sealer, on conn: any SQLConnection, versions withVersions: Bool, lock: Bool = false)
        throws -> SecretMetadata?
    {
        let query: SQLQuery =
            lock && conn.dialect == .postgres
            ? "SELECT \(SecretColumn.row) FROM api_credentials WHERE id = \(path.id) FOR UPDATE"
            : "SELECT \(SecretColumn.row) FROM api_credentials WHERE id = \(path.id)"
        guard let row = try conn.queryFirst(query) else { return nil }
        return try metadata(path, row: row, sealer: sealer, on: conn, versions: withVersions)
    }

    /// A secret's metadata from its whole `api_credentials` row (``SecretColumn/row``), authenticated, and its
    /// versions when asked.
    static func metadata(_ path: SecretPath, row: SQLRow, sealer: Sealer, on conn: any SQLConnection, versions withVersions: Bool) throws
        -> SecretMetadata
    {
        try verify(row, id: path.id, sealer: sealer)
        let untagged = row.advanced(by: UntaggedSecretColumn.offset)
        let customText: String? = try row.decode(SecretColumn.customMetadata)
        let custom = try customText.map { try JSONDecoder().decode([String: String].self, from: Data($0.utf8)) }
        let versions =
            withVersions
            ? try conn.query(
                "SELECT \(columns: VersionColumn.self) FROM api_credential_versions WHERE id = \(path.id) ORDER BY version"
            ).map(version)
            : []
        return SecretMetadata(
            path: path, currentVersion: try row.decode(SecretColumn.currentVersion),
            oldestVersion: try row.decode(SecretColumn.oldestVersion),
            maxVersions: try row.decode(SecretColumn.maxVersions), casRequired: try row.decode(SecretColumn.casRequired),
            deleteVersionAfter: try row.decode(SecretColumn.deleteVersionAfter), customMetadata: custom,
            createdBy: try untagged.decode(UntaggedSecretColumn.createdBy), createdAt: try untagged.decode(UntaggedSecretColumn.createdAt),
            updatedAt: try untagged.decode(UntaggedSecretColumn.updatedAt), expiresAt: try row.decode(SecretColumn.expiresAt),
            lastAccessedAt: try untagged.decode(UntaggedSecretColumn.lastAccessedAt),
            accessCount: try untagged.decode(UntaggedSecretColumn.accessCount),
            rotation: RotationSchedule(
                interval: try row.decode(SecretColumn.rotationInterval), kind: try row.decode(SecretColumn.rotationKind),
                lastRotatedAt: try untagged.decode(UntaggedSecretColumn.lastRotatedAt),
                nextDueAt: try untagged.decode(UntaggedSecretColumn.nextRotationAt),
                schedule: try row.decode(SecretColumn.rotationSchedule), settings: try row.decode(SecretColumn.rotationSettings),
                failures: try untagged.decode(UntaggedSecretColumn.rotationFailures),
                retryAt: try untagged.decode(UntaggedSecretColumn.rotationRetryAt),
                lastError: try untagged.decode(UntaggedSecretColumn.rotationLastError)),
            labels: VersionLabels(
                pending: try row.decode(SecretColumn.pendingVersion), previous: try row.decode(SecretColumn.previousVersion),
                previousUntil: try row.decode(SecretColumn.previousUntil)),
            versions: versions, uid: try row.decode(SecretColumn.uid), versionCounter: try row.decode(SecretColumn.versionCounter))
    }

    /// The secret's row, locked, created empty (version 0) when absent. `created` is false when the row was
    /// there, or when another instance created it meanwhile (its insert wins; this one then updates).
    /// A new secret gets a random id (its versions' binding) and a version counter at 0.
    static func lockedRow(_ path: SecretPath, sealer: Sealer, on conn: any SQLConnection, accessor: String, now: Date) throws -> (
        SecretMetadata, created: Bool
    ) {
        if let found = try metadata(path, sealer: sealer, on: conn, versions: false, lock: true) { return (found, false) }
        let uid = Hex.encode(Random.bytes(16))
        let inserted = try conn.execute(
            """
            INSERT INTO api_credentials (id, mount, path, secret_uid, current_version, oldest_version, version_counter, max_versions,
                cas_required,
                delete_version_after, custom_metadata, created_by, created_at, updated_at)
            VALUES (\(path.id), \(path.mount), \(path.path), \(uid), 0, 0, 0, 0, \(false), 0, NULL, \(accessor), \(now), \(now))
            ON CONFLICT (id) DO NOTHING
            """)
        if inserted == 1 { try retag(path.id, sealer: sealer, on: conn) }
        guard let row = try metadata(path, sealer: sealer, on: conn, versions: false, lock: true) else {
            throw AccessError(.notFound, "\(path) was deleted while it was being written; try again")
        }
        return (row, inserted == 1)
    }

    /// Seals `data` bound to `id` and `version` and stores it as that version (the one statement every write path
    /// uses, so a version is always sealed to the place it is stored at).
    static func insertVersion(
        _ data: SecureHandle, of secret: SecretMetadata, version: Int64, sealer: Sealer, at now: Date, by accessor: String,
        deletion: Date?, on conn: any SQLConnection
    ) throws {
        let id = secret.path.id
        let sealed = try sealer.seal(data.bytes, binding: binding(id, uid: secret.uid, version: version))
        try conn.execute(
            """
            INSERT INTO api_credential_versions (id, version, created_at, created_by, deletion_time, destroyed, key_term, sealed,
                binding_id)
            VALUES (\(id), \(version), \(now), \(accessor), \(deletion), \(false), \(sealed.term), \(sealed.sealed),
                    \(secret.uid.map { bindingID(id, uid: $0) }))
            """)
    }

    /// A version's metadata from a row selecting ``VersionColumn`` (from its column 0).
    static func version(_ row: SQLRow) throws -> VersionMetadata {
        VersionMetadata(
            version: try row.decode(VersionColumn.version), createdAt: try row.decode(VersionColumn.createdAt),
            createdBy: try row.decode(VersionColumn.createdBy), deletionTime: try row.decode(VersionColumn.deletionTime),
            destroyed: try row.decode(VersionColumn.destroyed))
    }
}
