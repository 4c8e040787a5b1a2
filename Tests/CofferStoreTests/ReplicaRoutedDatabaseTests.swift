import CofferStore
import CofferTesting
import Foundation
import Testing

/// Where ``ReplicaRoutedDatabase`` sends a read. The "standby" here is a second pool on the same server: not in
/// recovery, so it reports its own insert position and is always caught up (scripts/replica-reads-test.py tries
/// a real standby whose replay is held back).
@Suite(.enabled(if: TestDatabase.runsPostgres))
struct ReplicaRoutedDatabaseTests {
    private func routed(waitBound: Duration = .seconds(2)) async throws -> (ReplicaRoutedDatabase, TestDatabase.Scratch) {
        let scratch = try await TestDatabase.create(.postgres)
        let url = try PostgresConnectionString(scratch.url)
        let primary = try await PostgresDatabase(url, configuration: .init(connections: 2), logger: TestDatabase.logger)
        let replica = try await PostgresDatabase(url, configuration: .init(connections: 2), logger: TestDatabase.logger)
        return (ReplicaRoutedDatabase(primary: primary, replica: replica, waitBound: waitBound, logger: TestDatabase.logger), scratch)
    }

    @Test func onlyPermittedReadsGoToTheStandby() async throws {
        let (db, scratch) = try await routed()
        _ = try await db.transaction { try $0.execute("CREATE TABLE routed (n BIGINT)") }
        _ = try await db.read { try $0.queryScalar(Int64.self, "SELECT count(*) FROM routed") }
        #expect(db.counts.replica == 0 && db.counts.fellBack == 0)
        _ = try await ReplicaRead.$current.withValue(ReplicaRead(atLeast: nil)) {
            try await db.read { try $0.queryScalar(Int64.self, "SELECT count(*) FROM routed") }
        }
        #expect(db.counts.replica == 1)
        // A transaction never goes to the standby, permission or not.
        _ = try await ReplicaRead.$current.withValue(ReplicaRead(atLeast: nil)) {
            try await db.transaction { try $0.execute("INSERT INTO routed (n) VALUES (1)") }
        }
        #expect(db.counts.replica == 1)
        // A position this instance wrote is one the standby must have replayed (here it has).
        db.noteLocalWrite(try #require(db.primary.newestCommitPosition))
        _ = try await ReplicaRead.$current.withValue(ReplicaRead(atLeast: nil)) {
            try await db.read { try $0.queryScalar(Int64.self, "SELECT count(*) FROM routed") }
        }
        #expect(db.counts.replica == 2 && db.counts.checked == 1)
        await db.close()
        try await scratch.drop()
    }

    @Test func aPositionNotReplayedWithinTheBoundIsReadFromThePrimary() async throws {
        let (db, scratch) = try await routed(waitBound: .milliseconds(100))
        let started = ContinuousClock.now
        let value = try await ReplicaRead.$current.withValue(ReplicaRead(atLeast: WALPosition(value: UInt64.max))) {
            try await db.read { try $0.queryScalar(Int64.self, "SELECT 7") }
        }
        let waited = ContinuousClock.now - started
        #expect(value == 7 && db.counts.fellBack == 1 && db.counts.replica == 0)
        #expect(waited >= .milliseconds(80) && waited < .seconds(2), "waited \(waited)")
        await db.close()
        try await scratch.drop()
    }

    @Test func anUnreachableStandbyIsSkippedForAWhile() async throws {
        let (db, scratch) = try await routed()
        await db.replica.close()
        for _ in 0..<3 {
            let value = try await ReplicaRead.$current.withValue(ReplicaRead(atLeast: nil)) {
                try await db.read { try $0.queryScalar(Int64.self, "SELECT 7") }
            }
            #expect(value == 7)
        }
        // One attempt on the standby; the next reads within the retry interval go straight to the primary.
        #expect(db.counts.fellBack == 3 && db.counts.replica == 0 && db.counts.unreachable == 1)
        await db.primary.close()
        try await scratch.drop()
    }
}
