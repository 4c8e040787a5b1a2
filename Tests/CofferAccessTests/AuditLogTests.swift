import CofferAccess
import CofferCrypto
import CofferFoundation
import CofferKeys
import CofferStore
import CofferTesting
import Foundation
import PropertyBased
import Testing

/// The audit log's writer: group commit, checkpoints, the witness, and one chain across writers.
struct AuditLogTests {
    static func entry(_ index: Int) -> AuditEntry {
        AuditEntry(
            kind: .request, time: Date(), requestID: "r\(index)", accessor: "acc", displayName: "test", path: "sys/thing/\(index)",
            operation: "read", decision: "allow", status: 0, extra: [("note", "entry \(index)")])
    }

    /// A migrated database with an unsealed hierarchy, and a log over it.
    /// A migrated database's key hierarchy, initialised with a key file and unsealed: the audit key and the
    /// keyring an audit log signs and tags with.
    static func unsealedKeys(_ db: any Database) async throws -> KeyHierarchy {
        try await Migrator(database: db, migrations: .embedded(for: db.dialect), logger: TestDatabase.logger).migrate()
        let keys = try await KeyHierarchy(database: db)
        let initialised = try await keys.initialize(method: .keyFile)
        _ = try await keys.unseal(with: try #require(initialised.keyFileKey).bytes)
        return keys
    }

    static func withLog(
        _ backend: TestBackend, _ configuration: AuditConfiguration,
        _ body: @Sendable (any Database, AuditLog, [UInt8]) async throws -> Void
    ) async throws {
        try await TestDatabase.with(backend) { db in
            let keys = try await unsealedKeys(db)
            let signer = try keys.auditSigner()
            let publicKey = signer.key.publicKey
            let log = AuditLog(database: db, configuration: configuration, logger: TestDatabase.logger) { signer }
            try await body(db, log, publicKey)
        }
    }

    /// Many concurrent appends share commits, every one returns only once committed, and the chain is whole.
    @Test(arguments: TestDatabase.backends)
    func groupCommit(_ backend: TestBackend) async throws {
        try await Self.withLog(backend, AuditConfiguration(checkpointEvery: 50)) { db, log, publicKey in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<300 { group.addTask { try await log.append(Self.entry(index)) } }
                try await group.waitForAll()
            }
            #expect(log.committedEntries == 300)
            let commits = log.commits
            #expect(commits < 300, "group commit should batch entries, made \(commits) commits")
            let trail = AuditTrail(database: db)
            #expect(try await trail.verify(publicKey: publicKey, witnessed: []).finding == .intact(entries: 300))
            // A checkpoint at every commit, each naming the one before it, the newest at the last entry: every entry
            // is covered by a signature once its append returns.
            let checkpoints = try await trail.checkpoints()
            #expect(
                checkpoints.count == commits && checkpoints.last?.sequence == 300, "\(checkpoints.map(\.sequence)) in \(commits) commits")
            #expect(checkpoints.map(\.previous) == [0] + checkpoints.dropLast().map(\.sequence))
            #expect(try await trail.verify(publicKey: publicKey, witnessed: [], requireCoverage: true).finding == .intact(entries: 300))
            var sequences = Set<String>()
            try await trail.forEach { sequences.insert($0.entry.requestID) }
            #expect(sequences.count == 300)
        }
    }

    /// A change a test refuses after it wrote its row.
    struct Refused: Error {}

    /// Entries and changes committed together in groups, for any mix of plain entries, changes that succeed,
    /// changes that throw after writing (undone by their savepoint) and changes the database refuses (a unique
    /// key taken by another change of the same group, which on PostgreSQL aborts the transaction unless the
    /// savepoint is rolled back): every change's row exists exactly when its commit returned its value, every
    /// entry is in the trail once, whatever became of its change, and the chain verifies.
    @Test(arguments: TestDatabase.backends)
    func changesCommitWithTheirEntriesOrNotAtAll(_ backend: TestBackend) async throws {
        try await Self.withLog(backend, AuditConfiguration()) { db, log, publicKey in
            try await db.transaction { conn in
                try conn.executeScript(unsafeSQL: "CREATE TABLE changes (run INTEGER, n INTEGER, slot INTEGER, UNIQUE (run, slot))")
            }
            let runs = Locked(0)
            let total = Locked(0)
            // Each operation: 0 a plain entry, 1 a change, 2 a change that throws after its insert; slot 0...3 (a slot
            // taken twice in a run makes the later change a unique violation).
            await propertyCheck(count: 40, input: Gen<Int>.int(in: 0...11).array(of: 1...24)) { operations in
                let run = runs.withLock { run in
                    run += 1
                    return run
                }
                let outcomes = try await withThrowingTaskGroup(of: (Int, Bool?).self) { group in
                    for (n, operation) in operations.enumerated() {
                        let entry = Self.entry(run * 1_000 + n)
                        let (kind, slot) = (operation % 3, operation / 3)
                        group.addTask {
                            guard kind > 0 else {
                                try await log.append(entry)
                                return (n, nil)
                            }
                            do {
                                let value = try await log.commit(entry) { conn -> Int in
                                    try conn.execute("INSERT INTO changes (run, n, slot) VALUES (\(run), \(n), \(slot))")
                                    if kind == 2 { throw Refused() }
                                    return n
                                }
                                #expect(value == n)
                                return (n, true)
                            } catch is Refused {
                                return (n, false)
                            } catch let error as StoreError where error.code == .uniqueViolation {
                                return (n, false)
                            }
                        }
                    }
                    return try await group.reduce(into: [Int: Bool?]()) { $0[$1.0] = $1.1 }
                }
                let made = Set(outcomes.compactMap { $0.value == true ? $0.key : nil })
                let rows = try await db.read { conn in
                    try conn.query("SELECT n FROM changes WHERE run = \(run)").map { try $0.decode(Int.self, at: 0) }
                }
                #expect(Set(rows) == made && rows.count == made.count, "rows \(rows.sorted()), made \(made.sorted())")
                let slots = Set(operations.enumerated().filter { $0.element % 3 == 1 }.map { $0.element / 3 })
                #expect(made.count == slots.count, "one change per slot wins: \(operations)")
                total.withLock { $0 += operations.count }
            }
            let entries = total.withLock { $0 }
            let trail = AuditTrail(database: db)
            #expect(try await trail.verify(publicKey: publicKey, witnessed: []).finding == .intact(entries: Int64(entries)))
        }
    }

    /// Checkpoints go to the witness file too; cutting the trail's tail (and its checkpoints) in the database
    /// is then found by comparing with the witness, and an export verifies offline with only the public key.
    @Test func witnessCatchesATruncatedTail() async throws {
        let folder = try TestDatabase.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let witness = "\(folder)/witness.jsonl"
        try await Self.withLog(.sqlite, AuditConfiguration(checkpointEvery: 10, witness: .file(witness))) { db, log, publicKey in
            for index in 0..<35 { try await log.append(Self.entry(index)) }
            let witnessed = try #require(try AuditWitnessFile.newest(in: witness))
            #expect(witnessed.sequence == 30)
            let trail = AuditTrail(database: db)
            #expect(try await trail.verify(publicKey: publicKey, witnessed: [witnessed]).finding == .intact(entries: 35))
            // Offline: the export's lines and the public key are enough.
            var lines: [String] = []
            try await trail.forEach { lines.append($0.json) }
            let records = try lines.map(AuditTrail.Stored.parse(json:))
            #expect(
                try AuditChain.verify(records, checkpoints: [], witnessed: [witnessed], publicKey: publicKey).finding
                    == .intact(entries: 35))
            // Someone removes the newest entries and the checkpoints that covered them, and rewinds the head.
            try await db.execute("DELETE FROM audit_log WHERE sequence > 20")
            try await db.execute("DELETE FROM audit_checkpoints WHERE sequence > 20")
            #expect(
                try await trail.verify(publicKey: publicKey, witnessed: []).finding.isIntact, "without the witness the cut cannot be seen")
            #expect(try await trail.verify(publicKey: publicKey, witnessed: [witnessed]).finding == .truncated(entries: 20, witnessed: 30))
            // A forged witness line (signature from another key) is refused.
            let forged = AuditChain.checkpoint(
                sequence: 20, head: witnessed.head, time: witnessed.time, signer: Ed25519SigningKey.generate())
            #expect(try await trail.verify(publicKey: publicKey, witnessed: [forged]).finding == .badCheckpoint(sequence: 20))
        }
    }

    /// A failing sink fails appends and marks the log failing; once it works again, the periodic probe (no
    /// request needed, nothing left queued) marks it healthy.
    @Test func healthRecoversWithoutRequests() async throws {
        try await Self.withLog(.sqlite, AuditConfiguration(durableWithin: .seconds(20))) { db, log, _ in
            try await log.append(Self.entry(0))
            try await db.execute("ALTER TABLE audit_head RENAME TO audit_head_away")
            await #expect(throws: AccessError.self) { try await log.append(Self.entry(1)) }
            #expect(log.health != .ok)
            await log.checkpointIfDue()
            #expect(log.health != .ok, "the sink still fails")
            try await db.execute("ALTER TABLE audit_head_away RENAME TO audit_head")
            await log.checkpointIfDue()
            #expect(log.health == .ok)
            try await log.append(Self.entry(2))
            #expect(try await AuditTrail(database: db).query(.init()).map(\.entry.requestID) == ["r0", "r2"])
        }
    }

    /// Two logs (as two service instances would have) appending to one database at once keep one chain.
    @Test(.enabled(if: TestDatabase.runsPostgres, "set COFFER_TEST_POSTGRES_URL to run against PostgreSQL"))
    func twoWritersKeepOneChainOnPostgres() async throws {
        try await Self.withLog(.postgres, AuditConfiguration()) { db, first, publicKey in
            let second = AuditLog(database: db, logger: TestDatabase.logger) { nil }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<200 {
                    let log = index.isMultiple(of: 2) ? first : second
                    group.addTask { try await log.append(Self.entry(index)) }
                }
                try await group.waitForAll()
            }
            #expect(try await AuditTrail(database: db).verify(publicKey: publicKey, witnessed: []).finding == .intact(entries: 200))
        }
    }
}
