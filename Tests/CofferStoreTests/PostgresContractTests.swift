import CofferStore
import CofferTesting
import Testing

/// The store contract on the real PostgreSQL server ($COFFER_TEST_POSTGRES_URL).
@Suite(.enabled(if: TestDatabase.runsPostgres, "set COFFER_TEST_POSTGRES_URL to run the PostgreSQL contract tests"))
struct PostgresContractTests {
    @Test func typesRoundTrip() async throws { try await TestDatabase.with(.postgres, StoreContract.typesRoundTrip) }
    @Test func transactionRollsBackOnThrow() async throws {
        try await TestDatabase.with(.postgres, StoreContract.transactionRollsBackOnThrow)
    }
    @Test func constraintErrorsAreTyped() async throws { try await TestDatabase.with(.postgres, StoreContract.constraintErrorsAreTyped) }
    @Test func errorsNeverShowBindValues() async throws { try await TestDatabase.with(.postgres, StoreContract.errorsNeverShowBindValues) }
    @Test func batchesInsertAndRollBack() async throws { try await TestDatabase.with(.postgres, StoreContract.batchesInsertAndRollBack) }
    @Test func readersBeyondPoolSizeWait() async throws { try await TestDatabase.with(.postgres, StoreContract.readersBeyondPoolSizeWait) }
    @Test func concurrentWritersLoseNothing() async throws {
        try await TestDatabase.with(.postgres, StoreContract.concurrentWritersLoseNothing)
    }
    @Test func migrationsAreIdempotent() async throws { try await TestDatabase.with(.postgres, MigrationContract.idempotent) }
    @Test func migrationsRefuseEditedFile() async throws { try await TestDatabase.with(.postgres, MigrationContract.refusesEditedFile) }
    @Test func migrationsRefuseNewerDatabase() async throws {
        try await TestDatabase.with(.postgres, MigrationContract.refusesNewerDatabase)
    }
    @Test func failingMigrationIsRolledBack() async throws {
        try await TestDatabase.with(.postgres, MigrationContract.failingFileIsRolledBack)
    }
    @Test func concurrentMigratorsApplyOnce() async throws {
        let scratch = try await TestDatabase.create(.postgres)
        try await MigrationContract.concurrentMigratorsApplyOnce(scratch)
        try await scratch.drop()
    }
    @Test func embeddedMigrationsApply() async throws {
        try await TestDatabase.with(.postgres) { db in
            let migrator = Migrator(database: db, migrations: try .embedded(for: .postgres), logger: TestDatabase.logger)
            try await migrator.migrate()
            #expect(try await migrator.status().isCurrent)
        }
    }
}
