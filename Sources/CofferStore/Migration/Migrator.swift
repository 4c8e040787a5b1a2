public import struct Foundation.Date
import CofferFoundation
public import Logging

/// Applies a ``MigrationSet`` to a ``Database`` and reports where the schema stands.
///
/// Each migration runs in its own transaction together with its `schema_migrations` row, under a
/// lock that makes concurrent migrators (several Coffer processes starting at once) take turns:
/// PostgreSQL's `pg_advisory_xact_lock`, SQLite's write lock (`BEGIN IMMEDIATE`). A file edited
/// after it was applied, or a database migrated by a newer Coffer, stops the migrator with an error.
///
/// ```swift
/// let applied = try await Migrator(database: db, migrations: .embedded(for: db.dialect), logger: logger).migrate()
/// ```
public struct Migrator: Sendable {
    /// One row of `schema_migrations`.
    public struct AppliedMigration: Sendable, Equatable, SQLRowDecodable {
        public let number: Int
        public let name: String
        public let checksum: String
        public let appliedAt: Date
        /// `NNNN_name`, as operators see it.
        public var label: String { migrationNumber(number) + "_" + name }

        public init(row: SQLRow) throws {
            number = try row.decode(column: "number")
            name = try row.decode(column: "name")
            checksum = try row.decode(column: "checksum")
            appliedAt = try row.decode(column: "applied_at")
        }
    }

    /// Where the schema stands against the migrations this binary knows.
    public struct Status: Sendable {
        public let applied: [AppliedMigration]
        public let pending: [Migration]
        /// True when every known migration is applied (and checked).
        public var isCurrent: Bool { pending.isEmpty }
    }

    /// Chosen once, arbitrary: the advisory-lock key all Coffer migrators share ("coffer-mg").
    static let advisoryLockKey: Int64 = 0x636f_6666_6572_6d67

    public let database: any Database
    public let migrations: MigrationSet
    public let logger: Logger

    public init(database: any Database, migrations: MigrationSet, logger: Logger) {
        self.database = database
        self.migrations = migrations
        self.logger = logger
    }

    /// Applies every pending migration, in order.
    /// - Returns: the migrations this call applied (none when another process got there first).
    /// - Throws: ``StoreError`` `.migration` for an edited file or a newer database; any error of a failing file, which is rolled back.
    @discardableResult
    public func migrate() async throws -> [Migration] {
        try await createTable()
        let applied = try await verify()
        let done = Set(applied.map(\.number))
        var appliedNow: [Migration] = []
        for migration in migrations.migrations where !done.contains(migration.number) {
            let ran = try await database.transaction { connection in
                try Self.lock(connection)
                let already =
                    try connection.queryScalar(
                        Int.self, "SELECT count(*) FROM schema_migrations WHERE number = \(migration.number)") ?? 0
                guard already == 0 else { return false }
                do {
                    try connection.executeScript(unsafeSQL: migration.sql)
                } catch let error as StoreError {
                    throw StoreError(error.code, "\(migration.path) failed: \(error.message)", detail: error.detail, underlying: error)
                }
                try connection.execute(
                    """
                    INSERT INTO schema_migrations (number, name, checksum, applied_at)
                    VALUES (\(migration.number), \(migration.name), \(migration.checksum), \(Date()))
                    """)
                return true
            }
            if ran {
                logger.info("applied migration", metadata: ["coffer.migration": "\(migration.path)"])
                appliedNow.append(migration)
            }
        }
        return appliedNow
    }

    /// Reads `schema_migrations` and checks it against the known files without changing anything.
    /// - Throws: ``StoreError`` `.migration` for an edited file or a newer database.
    public func status() async throws -> Status {
        let applied = try await verify()
        let done = Set(applied.map(\.number))
        return Status(applied: applied, pending: migrations.migrations.filter { !done.contains($0.number) })
    }

    private func createTable() async throws {
        let timestampType = database.dialect == .postgres ? "TIMESTAMPTZ" : "INTEGER"
        try await database.transaction { connection in
            try Self.lock(connection)
            try connection.executeScript(
                unsafeSQL: """
                    CREATE TABLE IF NOT EXISTS schema_migrations (
                        number INTEGER PRIMARY KEY,
                        name TEXT NOT NULL,
                        checksum TEXT NOT NULL,
                        applied_at \(timestampType) NOT NULL
                    )
                    """)
        }
    }

    private func verify() async throws -> [AppliedMigration] {
        let applied = try await database.read { connection -> [AppliedMigration] in
            let exists: SQLQuery =
                connection.dialect == .postgres
                ? "SELECT to_regclass('schema_migrations') IS NOT NULL"
                : "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
            guard try connection.queryScalar(Bool.self, exists) == true else { return [] }
            return try connection.query(
                AppliedMigration.self, "SELECT number, name, checksum, applied_at FROM schema_migrations ORDER BY number")
        }
        let known = Dictionary(uniqueKeysWithValues: migrations.migrations.map { ($0.number, $0) })
        for row in applied {
            guard let migration = known[row.number] else {
                throw StoreError(
                    .migration,
                    """
                    the database has migration \(row.label) applied, which this coffer binary does not know: the database was \
                    migrated by a newer Coffer, upgrade this one
                    """
                )
            }
            guard migration.checksum == row.checksum, migration.name == row.name else {
                throw StoreError(
                    .migration,
                    """
                    \(migration.path) was edited after it was applied (checksum differs from the one recorded): restore the file \
                    as it was and put the change in a new migration
                    """
                )
            }
        }
        return applied
    }

    private static func lock(_ connection: any SQLConnection) throws {
        if connection.dialect == .postgres {
            _ = try connection.query("SELECT pg_advisory_xact_lock(\(advisoryLockKey))")
        }
        // SQLite: the transaction already holds the database's single write lock (BEGIN IMMEDIATE).
    }
}
