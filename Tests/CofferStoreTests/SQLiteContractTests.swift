import CofferStore
import CofferTesting
import Testing

/// The store contract on the embedded SQLite backend.
struct SQLiteContractTests {
    @Test func typesRoundTrip() async throws { try await TestDatabase.with(.sqlite, StoreContract.typesRoundTrip) }
    @Test func transactionRollsBackOnThrow() async throws {
        try await TestDatabase.with(.sqlite, StoreContract.transactionRollsBackOnThrow)
    }
    @Test func constraintErrorsAreTyped() async throws { try await TestDatabase.with(.sqlite, StoreContract.constraintErrorsAreTyped) }
    @Test func errorsNeverShowBindValues() async throws { try await TestDatabase.with(.sqlite, StoreContract.errorsNeverShowBindValues) }
    @Test func batchesInsertAndRollBack() async throws { try await TestDatabase.with(.sqlite, StoreContract.batchesInsertAndRollBack) }
    @Test func readersBeyondPoolSizeWait() async throws { try await TestDatabase.with(.sqlite, StoreContract.readersBeyondPoolSizeWait) }
    @Test func concurrentWritersLoseNothing() async throws {
        try await TestDatabase.with(.sqlite, StoreContract.concurrentWritersLoseNothing)
    }
    @Test func migrationsAreIdempotent() async throws { try await TestDatabase.with(.sqlite, MigrationContract.idempotent) }
    @Test func migrationsRefuseEditedFile() async throws { try await TestDatabase.with(.sqlite, MigrationContract.refusesEditedFile) }
    @Test func migrationsRefuseNewerDatabase() async throws { try await TestDatabase.with(.sqlite, MigrationContract.refusesNewerDatabase) }
    @Test func failingMigrationIsRolledBack() async throws {
        try await TestDatabase.with(.sqlite, MigrationContract.failingFileIsRolledBack)
    }
    @Test func concurrentMigratorsApplyOnce() async throws {
        let scratch = try await TestDatabase.create(.sqlite)
        try await MigrationContract.concurrentMigratorsApplyOnce(scratch)
        try await scratch.drop()
    }
    @Test func embeddedMigrationsApply() async throws {
        try await TestDatabase.with(.sqlite) { db in
            let migrator = Migrator(database: db, migrations: try .embedded(for: .sqlite), logger: TestDatabase.logger)
            try await migrator.migrate()
            #expect(try await migrator.status().isCurrent)
        }
    }
}
