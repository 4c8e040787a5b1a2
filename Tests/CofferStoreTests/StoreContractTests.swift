import CofferStore
import CofferTesting
import Testing

/// The store and migration contracts, each run against every enabled backend: SQLite always, the real
/// PostgreSQL server ($COFFER_TEST_POSTGRES_URL) when it is set, and always under CI.
struct StoreContractTests {
    @Test(arguments: TestDatabase.backends) func typesRoundTrip(_ backend: TestBackend) async throws {
        try await TestDatabase.with(backend, StoreContract.typesRoundTrip)
    }
    @Test(arguments: TestDatabase.backends) func transactionRollsBackOnThrow(_ backend: TestBackend) async throws {
        try await TestDatabase.with(backend, StoreContract.transactionRollsBackOnThrow)
    }
    @Test(arguments: TestDatabase.backends) func constraintErrorsAreTyped(_ backend: TestBackend) async throws {
        try await TestDatabase.with(backend, StoreContract.constraintErrorsAreTyped)
    }
    @Test(arguments: TestDatabase.backends) func errorsNeverShowBindValues(_ backend: TestBackend) async throws {
        try await TestDatabase.with(backend, StoreContract.errorsNeverShowBindValues)
    }
    @Test(arguments: TestDatabase.backends) func nulInTextIsRefused(_ backend: TestBackend) async throws {
        try await TestDatabase.with(backend, StoreContract.nulInTextIsRefused)
    }
    @Test(arguments: TestDatabase.backends) func batchesInsertAndRollBack(_ backend: TestBackend) async throws {
        try await TestDatabase.with(backend, StoreContract.batchesInsertAndRollBack)
    }
    @Test(arguments: TestDatabase.backends) func readersBeyondPoolSizeWait(_ backend: TestBackend) async throws {
        try await TestDatabase.with(backend, StoreContract.readersBeyondPoolSizeWait)
    }
    @Test(arguments: TestDatabase.backends) func concurrentWritersLoseNothing(_ backend: TestBackend) async throws {
        try await TestDatabase.with(backend, StoreContract.concurrentWritersLoseNothing)
    }
    @Test(arguments: TestDatabase.backends) func recordsReadTheirColumnsByPosition(_ backend: TestBackend) async throws {
        try await TestDatabase.with(backend, StoreContract.recordsReadTheirColumnsByPosition)
    }
    @Test(arguments: TestDatabase.backends) func migrationsAreIdempotent(_ backend: TestBackend) async throws {
        try await TestDatabase.with(backend, MigrationContract.idempotent)
    }
    @Test(arguments: TestDatabase.backends) func migrationsRefuseEditedFile(_ backend: TestBackend) async throws {
        try await TestDatabase.with(backend, MigrationContract.refusesEditedFile)
    }
    @Test(arguments: TestDatabase.backends) func migrationsRefuseNewerDatabase(_ backend: TestBackend) async throws {
        try await TestDatabase.with(backend, MigrationContract.refusesNewerDatabase)
    }
    @Test(arguments: TestDatabase.backends) func failingMigrationIsRolledBack(_ backend: TestBackend) async throws {
        try await TestDatabase.with(backend, MigrationContract.failingFileIsRolledBack)
    }
    @Test(arguments: TestDatabase.backends) func concurrentMigratorsApplyOnce(_ backend: TestBackend) async throws {
        let scratch = try await TestDatabase.create(backend)
        try await MigrationContract.concurrentMigratorsApplyOnce(scratch)
        try await scratch.drop()
    }
    @Test(arguments: TestDatabase.backends) func embeddedMigrationsApply(_ backend: TestBackend) async throws {
        try await TestDatabase.with(backend) { db in
            let migrator = Migrator(database: db, migrations: try .embedded(for: db.dialect), logger: TestDatabase.logger)
            try await migrator.migrate()
            #expect(try await migrator.status().isCurrent)
        }
    }
}
