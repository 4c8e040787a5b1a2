public import CofferAccess
import CofferCrypto
import CofferFoundation
public import CofferKeys
public import CofferStore
public import Foundation

/// A KV engine mounted at a path, with its engine-wide settings (`<mount>/config`).
public struct KVMount: Sendable, Equatable {
    public var path: String
    /// 1: one unversioned value per secret (Vault's KV version 1); 2: versions and metadata.
    public var version: Int
    public var accessor: String
    /// A random UUID, as Vault gives each mount.
    public var uuid: String
    public var description: String
    /// 0 means the default, 10.
    public var maxVersions: Int64
    public var casRequired: Bool
    /// Seconds; 0 means never.
    public var deleteVersionAfter: Int64
    public var createdAt: Date

    /// The path form Vault uses in `sys/mounts` answers: `secret/`.
    public var key: String { path + "/" }
}

/// The engines mounted through `sys/mounts`. Mount paths are one segment of letters, digits, `-`, `_`, `.`;
/// the names of Coffer's own routes are reserved.
///
/// Each row's engine version, paths and settings carry an authentication tag: a mount edited in the database
/// (its version flipped, its `cas_required` cleared) is refused, and with it every request to the engine.
public struct MountStore: Sendable {
    let database: any Database
    let keys: KeyHierarchy

    /// Paths no engine may take: they are Coffer's own.
    public static let reserved: Set<String> = ["sys", "auth", "coffer", "cubbyhole", "identity", "database", "database-static", "v1"]

    public init(database: any Database, keys: KeyHierarchy) {
        self.database = database
        self.keys = keys
    }

    public func list() async throws -> [KVMount] {
        let sealer = try keys.sealer()
        return try await database.read { conn in
            try conn.query("SELECT \(columns: MountColumn.self) FROM kv_mounts ORDER BY path").map { try Self.mount($0, sealer: sealer) }
        }
    }

    public func mount(_ path: String) async throws -> KVMount? {
        let sealer = try keys.sealer()
        return try await database.read { conn in try Self.find(path, sealer: sealer, on: conn) }
    }

    static func find(_ path: String, sealer: Sealer, on conn: any SQLConnection) throws -> KVMount? {
        try conn.queryFirst("SELECT \(columns: MountColumn.self) FROM kv_mounts WHERE path = \(path)").map { try mount($0, sealer: sealer) }
    }

    /// The mount, or 404 naming the path (as Vault answers a request under an unmounted path).
    static func require(_ path: String, sealer: Sealer, on conn: any SQLConnection) throws -> KVMount {
        guard let mount = try find(path, sealer: sealer, on: conn) else { throw Self.notMounted(path) }
        return mount
    }

    /// The mount, which must be a KV engine of `version`.
    /// - Throws: ``AccessErrorCode/otherEngineVersion`` for an engine of the other version; as ``require(_:sealer:on:)``.
    static func require(_ path: String, version: Int, sealer: Sealer, on conn: any SQLConnection) throws -> KVMount {
        let mount = try require(path, sealer: sealer, on: conn)
        guard mount.version == version else { throw AccessError.otherEngineVersion(mount: path, version: mount.version) }
        return mount
    }

    static func notMounted(_ path: String) -> AccessError {
        AccessError(.notFound, "no secrets engine is mounted at \(path)/ (see sys/mounts)")
    }

    /// Mounts a new KV engine of `version` (1 or 2).
    /// - Throws: ``AccessError`` `.invalidRequest` for a bad or reserved path, or one already in use.
    public func enable(
        _ grant: Grant, path: String, version: Int = 2, description: String, maxVersions: Int64 = 0, casRequired: Bool = false,
        deleteVersionAfter: Int64 = 0
    ) async throws {
        guard version == 1 || version == 2 else { throw AccessError(.invalidRequest, "a KV engine is version 1 or 2") }
        let path = try Self.validatedPath(path)
        let accessor = "kv_" + Hex.encode(Random.bytes(6))
        let uuid = UUID().uuidString.lowercased()
        let now = WallClock.now.roundedToStoredPrecision
        let tag = try keys.sealer().tag(
            Self.authenticated(
                KVMount(
                    path: path, version: version, accessor: accessor, uuid: uuid, description: description,
                    maxVersions: maxVersions, casRequired: casRequired,
                    deleteVersionAfter: deleteVersionAfter, createdAt: now)))
        try await database.transaction { conn in
            // ON CONFLICT: another instance enabling the same path at once gets the same clear refusal.
            let inserted = try conn.execute(
                """
                INSERT INTO kv_mounts (path, version, accessor, uuid, description, max_versions, cas_required, delete_version_after,
                    created_at, updated_at,
                                       auth_term, auth_tag)
                VALUES (\(path), \(version), \(accessor), \(uuid), \(description), \(maxVersions), \(casRequired),
                    \(deleteVersionAfter), \(now), \(now),
                        \(tag.term), \(tag.tag))
                ON CONFLICT (path) DO NOTHING
                """)
            guard inserted == 1 else { throw AccessError(.invalidRequest, "path is already in use at \(path)/") }
        }
        grant.auditFact("mount", path)
    }

    /// Unmounts an engine and deletes every secret in it.
    public func disable(_ grant: Grant, path: String) async throws {
        let path = try Self.validatedPath(path)
        try await database.transaction { conn in
            // Versions go with their secrets (ON DELETE CASCADE); explicit for SQLite builds without foreign keys.
            try conn.execute("DELETE FROM api_credential_versions WHERE id IN (SELECT id FROM api_credentials WHERE mount = \(path))")
            try conn.execute("DELETE FROM api_credentials WHERE mount = \(path)")
            try conn.execute("DELETE FROM kv_mounts WHERE path = \(path)")
        }
        grant.auditFact("mount", path)
    }

    /// Changes an engine's settings; `nil` leaves one as it is. `version: 2` upgrades a version 1 engine as
    /// Vault does: each secret's one value becomes its current version, with metadata from then on. There is
    /// no way back (Vault's "cannot downgrade mount from version 2").
    /// - Parameter engine: when set, the engine must be of this version (``AccessErrorCode/otherEngineVersion`` otherwise):
    ///   `<mount>/config` is a version 2 path, and on a version 1 engine names a secret.
    /// - Returns: whether the tune upgraded the engine from version 1.
    @discardableResult
    public func tune(
        _ grant: Grant, path: String, engine: Int? = nil, version: Int? = nil, description: String? = nil, maxVersions: Int64? = nil,
        casRequired: Bool? = nil, deleteVersionAfter: Int64? = nil
    ) async throws -> Bool {
        if let maxVersions, maxVersions < 0 { throw AccessError(.invalidRequest, "max_versions cannot be negative") }
        if let deleteVersionAfter, deleteVersionAfter < 0 { throw AccessError(.invalidRequest, "delete_version_after cannot be negative") }
        let now = WallClock.now.roundedToStoredPrecision
        let sealer = try keys.sealer()
        let upgraded = try await grant.transaction(on: database) { conn -> Bool in
            var mount =
                try engine.map { try Self.require(path, version: $0, sealer: sealer, on: conn) }
                ?? Self.require(path, sealer: sealer, on: conn)
            if let version {
                guard version == 1 || version == 2 else { throw AccessError(.invalidRequest, "options.version must be 1 or 2") }
                guard version >= mount.version else {
                    throw AccessError(.invalidRequest, "cannot downgrade mount from version \(mount.version)")
                }
            }
            let upgrading = (version ?? mount.version) > mount.version
            if let version { mount.version = version }
            if let description { mount.description = description }
            if let maxVersions { mount.maxVersions = maxVersions }
            if let casRequired { mount.casRequired = casRequired }
            if let deleteVersionAfter { mount.deleteVersionAfter = deleteVersionAfter }
            let tag = try sealer.tag(Self.authenticated(mount))
            try conn.execute(
                """
                UPDATE kv_mounts SET version = \(mount.version), description = \(mount.description), max_versions = \(mount.maxVersions),
                    cas_required = \(mount.casRequired), delete_version_after = \(mount.deleteVersionAfter), updated_at = \(now),
                    auth_term = \(tag.term), auth_tag = \(tag.tag)
                WHERE path = \(path)
                """)
            return upgrading
        }
        grant.auditFact("mount", path)
        if upgraded { grant.auditFact("upgraded", "kv version 2") }
        return upgraded
    }

    static func validatedPath(_ raw: String) throws -> String {
        let path = raw.hasSuffix("/") ? String(raw.dropLast()) : raw
        guard PlainName.isValid(path, maximum: 64), path != ".", path != ".." else {
            throw AccessError(
                .invalidRequest, "a mount path is one segment of letters, digits, '-', '_' or '.', at most 64 bytes, such as team-kv")
        }
        guard !reserved.contains(path) else {
            throw AccessError(.invalidRequest, "\(path)/ is reserved for Coffer's own routes; choose another mount path")
        }
        return path
    }

    /// A mount from a row selecting ``MountColumn`` (from its column 0), authenticated.
    static func mount(_ row: SQLRow, sealer: Sealer) throws -> KVMount {
        let record = try MountRecord(row: row)
        return try sealer.verified(record.mount, record.authenticated, record.tag)
    }

    /// A mount's fields that decide how its engine behaves, for its tag.
    static func authenticated(_ mount: KVMount) -> AuthenticatedRow {
        var row = AuthenticatedRow("kv_mounts", key: mount.path)
        row.add("version", mount.version)
        row.add("accessor", mount.accessor)
        row.add("uuid", mount.uuid)
        row.add("max_versions", mount.maxVersions)
        row.add("cas_required", mount.casRequired)
        row.add("delete_version_after", mount.deleteVersionAfter)
        return row
    }

    /// The table as ``KeyHierarchy`` sees it.
    public static let authenticatedTable = AuthenticatedTable(MountRecord.self, table: "kv_mounts", key: [.path])
}

/// The columns of `kv_mounts` a mount is read from, with its tag (never `SELECT *`).
enum MountColumn: String, TaggedColumn {
    case path, version, accessor, uuid, description, maxVersions = "max_versions", casRequired = "cas_required"
    case deleteVersionAfter = "delete_version_after", createdAt = "created_at", authTerm = "auth_term", authTag = "auth_tag"
}

/// A `kv_mounts` row: the mount and its tag. Not usable until the tag is checked (``MountStore/mount(_:sealer:)``).
struct MountRecord: TaggedRecord {
    typealias Column = MountColumn
    let mount: KVMount
    let tag: RowTag?

    init(row: SQLRow) throws {
        func value<T: SQLDecodable>(_ column: MountColumn) throws -> T { try row.decode(column) }
        mount = KVMount(
            path: try value(.path), version: try value(.version), accessor: try value(.accessor),
            uuid: try value(.uuid) as String? ?? "", description: try value(.description), maxVersions: try value(.maxVersions),
            casRequired: try value(.casRequired), deleteVersionAfter: try value(.deleteVersionAfter), createdAt: try value(.createdAt))
        tag = try row.tag(MountColumn.self)
    }

    var authenticated: AuthenticatedRow { MountStore.authenticated(mount) }
}
