import CofferFoundation
import CofferStore
import CofferTesting
import Foundation
import Testing

/// After a server restart or a failover every pooled connection is dead, and each is found so only when used.
/// One found dead at BEGIN ran nothing, so the store runs the transaction again on another connection rather
/// than answer the caller with an error; one lost after BEGIN may have committed, so it is never run again.
@Suite(.enabled(if: TestDatabase.runsPostgres))
struct PostgresReconnectTests {
    @Test func poolConnectionsKilledUnderneathAreReplaced() async throws {
        let scratch = try await TestDatabase.create(.postgres)
        let db = try await PostgresDatabase(
            PostgresConnectionString(scratch.url), configuration: .init(connections: 4), logger: TestDatabase.logger)
        let admin = try await PostgresDatabase(
            PostgresConnectionString(try #require(TestDatabase.postgresURL)), configuration: .init(connections: 1),
            logger: TestDatabase.logger)
        defer { Task { await admin.close() } }
        _ = try await db.transaction { try $0.execute("CREATE TABLE reconnect (n BIGINT NOT NULL)") }

        // Every connection of the pool open at once (each read holds its connection while it sleeps), then killed.
        let pids = try await withThrowingTaskGroup(of: Int64.self) { group in
            for _ in 0..<4 {
                group.addTask { try await db.read { try $0.queryScalar(Int64.self, "SELECT pg_backend_pid() FROM pg_sleep(0.3)") ?? 0 } }
            }
            return try await group.reduce(into: Set<Int64>()) { $0.insert($1) }
        }
        #expect(pids.count == 4)
        for pid in pids {
            _ = try await admin.read { try $0.queryScalar(Bool.self, "SELECT pg_terminate_backend(\(pid)::int)") }
        }
        for pid in pids {
            while try await admin.read({ try $0.queryScalar(Int64.self, "SELECT count(*) FROM pg_stat_activity WHERE pid = \(pid)::int") })
                ?? 0 > 0
            {
                try await Task.sleep(for: .milliseconds(20))
            }
        }

        // Four dead connections in the pool: a transaction and a read each succeed on a fresh one.
        _ = try await db.transaction { try $0.execute("INSERT INTO reconnect (n) VALUES (1)") }
        let count = try await db.read { try $0.queryScalar(Int64.self, "SELECT count(*) FROM reconnect") }
        #expect(count == 1)

        // Lost after BEGIN: the body ran, and it is not run a second time.
        let runs = Locked(0)
        await StoreContract.expectCode(.connectionLost) {
            try await db.transaction { conn in
                runs.withLock { $0 += 1 }
                try conn.execute("INSERT INTO reconnect (n) VALUES (2)")
                try conn.execute("SELECT pg_terminate_backend(pg_backend_pid())")
            }
        }
        #expect(runs.withLock { $0 } == 1)
        #expect(try await db.read { try $0.queryScalar(Int64.self, "SELECT count(*) FROM reconnect") } == 1)
        await db.close()
        try await scratch.drop()
    }
}

/// A transaction whose statement failed is rolled back by PostgreSQL at COMMIT, even when the body caught the
/// error and returned: the store says so instead of reporting a commit that did not happen.
@Suite(.enabled(if: TestDatabase.runsPostgres))
struct PostgresCommitTests {
    @Test func aFailedTransactionIsNeverReportedCommitted() async throws {
        try await TestDatabase.with(.postgres) { db in
            _ = try await db.transaction { try $0.execute("CREATE TABLE rolled (n BIGINT PRIMARY KEY)") }
            await StoreContract.expectCode(.sqlError) {
                _ = try await db.transaction { conn in
                    try conn.execute("INSERT INTO rolled (n) VALUES (1)")
                    _ = try? conn.execute("INSERT INTO rolled (n) VALUES (1)") // a unique violation, swallowed
                }
            }
            #expect(try await db.read { try $0.queryScalar(Int64.self, "SELECT count(*) FROM rolled") } == 0)
            // The next transaction on the pool is unaffected.
            _ = try await db.transaction { try $0.execute("INSERT INTO rolled (n) VALUES (2)") }
            #expect(try await db.read { try $0.queryScalar(Int64.self, "SELECT count(*) FROM rolled") } == 1)
        }
    }
}

/// With prepared statements off (behind a transaction-mode pooler), every statement is sent with its text: the
/// store contract holds the same (types, batches in pipeline mode, rollbacks, concurrent writers).
@Suite(.enabled(if: TestDatabase.runsPostgres))
struct PostgresUnpreparedTests {
    @Test func storeContractHoldsWithoutPreparedStatements() async throws {
        let scratch = try await TestDatabase.create(.postgres)
        let db = try await PostgresDatabase(
            PostgresConnectionString(scratch.url), configuration: .init(connections: 4, preparedStatements: false),
            logger: TestDatabase.logger)
        try await StoreContract.typesRoundTrip(db)
        try await StoreContract.transactionRollsBackOnThrow(db)
        try await StoreContract.batchesInsertAndRollBack(db)
        try await StoreContract.concurrentWritersLoseNothing(db)
        try await StoreContract.errorsNeverShowBindValues(db)
        // Nothing was prepared on the server.
        let prepared = try await db.read { try $0.queryScalar(Int64.self, "SELECT count(*) FROM pg_prepared_statements") }
        #expect(prepared == 0)
        await db.close()
        try await scratch.drop()
    }
}
