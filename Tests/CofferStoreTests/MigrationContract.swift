import CofferFoundation
import CofferStore
import CofferTesting
import Foundation
import Testing

/// Migration behaviour both backends must show.
enum MigrationContract {
    static func set(_ dialect: SQLDialect, _ files: [(String, String)]) throws -> MigrationSet {
        try MigrationSet(
            dialect: dialect, files: files.map { MigrationFile(fileName: $0.0, sql: $0.1) }, folder: "Migrations/\(dialect.rawValue)")
    }

    static let first = ("0001_first.sql", "CREATE TABLE first_table (id INTEGER PRIMARY KEY);")
    static let second = (
        "0002_second.sql", "CREATE TABLE second_table (id INTEGER PRIMARY KEY);\nCREATE INDEX second_idx ON second_table (id);"
    )

    static func appliedNumbers(_ db: any Database) async throws -> [Int] {
        try await db.read { try $0.query("SELECT number FROM schema_migrations ORDER BY number").map { try $0.decode(Int.self, at: 0) } }
    }

    static func idempotent(_ db: any Database) async throws {
        let migrations = try set(db.dialect, [first, second])
        let migrator = Migrator(database: db, migrations: migrations, logger: TestDatabase.logger)
        #expect(try await migrator.status().pending.map(\.number) == [1, 2])
        #expect(try await migrator.migrate().map(\.number) == [1, 2])
        #expect(try await migrator.migrate().isEmpty)
        let status = try await migrator.status()
        #expect(status.isCurrent)
        #expect(status.applied.map(\.checksum) == migrations.migrations.map(\.checksum))
        #expect(try await appliedNumbers(db) == [1, 2])
        // The real schema exists.
        try await db.execute("INSERT INTO second_table (id) VALUES (\(1))")
    }

    static func refusesEditedFile(_ db: any Database) async throws {
        try await Migrator(database: db, migrations: try set(db.dialect, [first]), logger: TestDatabase.logger).migrate()
        let edited = (first.0, first.1 + "\n-- an innocent-looking edit\n")
        let migrator = Migrator(database: db, migrations: try set(db.dialect, [edited, second]), logger: TestDatabase.logger)
        do {
            try await migrator.migrate()
            Issue.record("an edited migration was accepted")
        } catch let error as StoreError {
            #expect(error.code == .migration)
            #expect(error.message.contains("Migrations/\(db.dialect.rawValue)/0001_first.sql"))
            #expect(error.message.contains("edited"))
        }
        // Nothing after the edited file was applied.
        #expect(try await appliedNumbers(db) == [1])
    }

    static func refusesNewerDatabase(_ db: any Database) async throws {
        try await Migrator(database: db, migrations: try set(db.dialect, [first, second]), logger: TestDatabase.logger).migrate()
        let older = Migrator(database: db, migrations: try set(db.dialect, [first]), logger: TestDatabase.logger)
        await StoreContract.expectCode(.migration) { try await older.migrate() }
        await StoreContract.expectCode(.migration) { _ = try await older.status() }
    }

    static func failingFileIsRolledBack(_ db: any Database) async throws {
        let broken = ("0002_broken.sql", "CREATE TABLE half_done (id INTEGER PRIMARY KEY);\nTHIS IS NOT SQL;")
        let migrator = Migrator(database: db, migrations: try set(db.dialect, [first, broken]), logger: TestDatabase.logger)
        do {
            try await migrator.migrate()
            Issue.record("a broken migration was applied")
        } catch let error as StoreError {
            #expect(error.message.contains("0002_broken.sql"))
        }
        #expect(try await appliedNumbers(db) == [1])
        await StoreContract.expectCode(.sqlError) { try await db.execute("INSERT INTO half_done (id) VALUES (\(1))") }
    }

    /// Two migrators with their own connections (as two processes have) racing: each file applies once.
    static func concurrentMigratorsApplyOnce(_ scratch: TestDatabase.Scratch) async throws {
        let files = [first, second, ("0003_third.sql", "CREATE TABLE third_table (id INTEGER PRIMARY KEY);")]
        let a = try await scratch.location.open(logger: TestDatabase.logger)
        let b = try await scratch.location.open(logger: TestDatabase.logger)
        let dialect = a.dialect
        async let fromA = Migrator(database: a, migrations: try set(dialect, files), logger: TestDatabase.logger).migrate()
        async let fromB = Migrator(database: b, migrations: try set(dialect, files), logger: TestDatabase.logger).migrate()
        let (appliedA, appliedB) = try await (fromA, fromB)
        #expect((appliedA + appliedB).map(\.number).sorted() == [1, 2, 3])
        #expect(try await appliedNumbers(a) == [1, 2, 3])
        await a.close()
        await b.close()
    }
}
