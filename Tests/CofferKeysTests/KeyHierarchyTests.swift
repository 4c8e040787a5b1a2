import CofferTesting
import Testing

struct SQLiteKeyHierarchyTests {
    @Test func shamirLifecycle() async throws { try await TestDatabase.with(.sqlite, KeyHierarchyContract.shamirLifecycle) }
    @Test func wrongSharesResetProgress() async throws {
        try await TestDatabase.with(.sqlite, KeyHierarchyContract.wrongSharesResetProgress)
    }
    @Test func passphrase() async throws { try await TestDatabase.with(.sqlite, KeyHierarchyContract.passphraseAndKeyFile) }
    @Test func keyFile() async throws { try await TestDatabase.with(.sqlite, KeyHierarchyContract.keyFile) }
    @Test func rotationKeepsOldTermsReadable() async throws {
        try await TestDatabase.with(.sqlite, KeyHierarchyContract.rotationKeepsOldTermsReadable)
    }
    @Test func recordsAreBoundToTheirPlace() async throws {
        try await TestDatabase.with(.sqlite, KeyHierarchyContract.recordsAreBoundToTheirPlace)
    }
    @Test func tamperedKeyTablesAreCaught() async throws {
        try await TestDatabase.with(.sqlite, KeyHierarchyContract.tamperedKeyTablesAreCaught)
    }
    @Test func rewrap() async throws { try await TestDatabase.with(.sqlite, KeyHierarchyContract.rewrapMovesRecordsOntoTheActiveTerm) }
    @Test func rekey() async throws { try await TestDatabase.with(.sqlite, KeyHierarchyContract.rekeyNeedsOldKeysAndVerification) }
}

@Suite(.enabled(if: TestDatabase.runsPostgres, "set COFFER_TEST_POSTGRES_URL to run the key hierarchy on PostgreSQL"))
struct PostgresKeyHierarchyTests {
    @Test func shamirLifecycle() async throws { try await TestDatabase.with(.postgres, KeyHierarchyContract.shamirLifecycle) }
    @Test func wrongSharesResetProgress() async throws {
        try await TestDatabase.with(.postgres, KeyHierarchyContract.wrongSharesResetProgress)
    }
    @Test func passphrase() async throws { try await TestDatabase.with(.postgres, KeyHierarchyContract.passphraseAndKeyFile) }
    @Test func keyFile() async throws { try await TestDatabase.with(.postgres, KeyHierarchyContract.keyFile) }
    @Test func rotationKeepsOldTermsReadable() async throws {
        try await TestDatabase.with(.postgres, KeyHierarchyContract.rotationKeepsOldTermsReadable)
    }
    @Test func recordsAreBoundToTheirPlace() async throws {
        try await TestDatabase.with(.postgres, KeyHierarchyContract.recordsAreBoundToTheirPlace)
    }
    @Test func tamperedKeyTablesAreCaught() async throws {
        try await TestDatabase.with(.postgres, KeyHierarchyContract.tamperedKeyTablesAreCaught)
    }
    @Test func rewrap() async throws { try await TestDatabase.with(.postgres, KeyHierarchyContract.rewrapMovesRecordsOntoTheActiveTerm) }
    @Test func rekey() async throws { try await TestDatabase.with(.postgres, KeyHierarchyContract.rekeyNeedsOldKeysAndVerification) }
}
