import CofferFoundation
import CofferStore
import CofferTesting
import Foundation
import Testing

/// The contract both backends must keep. Each check takes a fresh, empty database.
enum StoreContract {
    static func typesRoundTrip(_ db: any Database) async throws {
        let timestampType = db.dialect == .postgres ? "TIMESTAMPTZ" : "INTEGER"
        let blobType = db.dialect == .postgres ? "BYTEA" : "BLOB"
        let doubleType = db.dialect == .postgres ? "DOUBLE PRECISION" : "REAL"
        let boolType = db.dialect == .postgres ? "BOOLEAN" : "INTEGER"
        try await db.transaction { conn in
            try conn.executeScript(
                unsafeSQL: """
                    CREATE TABLE sample (id BIGINT PRIMARY KEY, t TEXT, i BIGINT, d \(doubleType), b \(blobType),
                                         ts \(timestampType), f \(boolType))
                    """)
        }
        struct Sample: Equatable, Sendable {
            var id: Int64, t: String?, i: Int64?, d: Double?, b: [UInt8]?, ts: Date?, f: Bool?
        }
        let micro = { (seconds: Double) in Date(timeIntervalSince1970: seconds) }
        let samples: [Sample] = [
            Sample(id: 1, t: "plain", i: 42, d: 3.25, b: [0, 1, 2, 255], ts: micro(1_764_075_981.123456), f: true),
            Sample(id: 2, t: "", i: Int64.max, d: -0.1, b: [], ts: micro(0), f: false),
            Sample(
                id: 3, t: "ünïcødé ✓ 'quote' \"dq\" \\ ; DROP TABLE sample; --", i: Int64.min, d: 1e300,
                b: Array(0...255).map(UInt8.init), ts: micro(-86_400 * 365.25 * 100 + 0.5), f: nil),
            Sample(id: 4, t: nil, i: nil, d: nil, b: nil, ts: nil, f: nil),
            Sample(
                id: 5, t: String(repeating: "x", count: 100_000), i: -1, d: Double.pi, b: [UInt8](repeating: 7, count: 70_000),
                ts: micro(1_900_000_000.000001), f: true)
        ]
        try await db.transaction { conn in
            for s in samples {
                try conn.execute(
                    "INSERT INTO sample (id, t, i, d, b, ts, f) VALUES (\(s.id), \(s.t), \(s.i), \(s.d), \(s.b), \(s.ts), \(s.f))")
            }
        }
        let read = try await db.read { conn in
            try conn.query("SELECT id, t, i, d, b, ts, f FROM sample ORDER BY id").map { row in
                Sample(
                    id: try row.decode(at: 0), t: try row.decode(at: 1), i: try row.decode(at: 2), d: try row.decode(at: 3),
                    b: try row.decode(at: 4), ts: try row.decode(column: "ts"), f: try row.decode(column: "f"))
            }
        }
        #expect(read.count == samples.count)
        for (got, want) in zip(read, samples) {
            #expect(got.id == want.id && got.t == want.t && got.i == want.i && got.d == want.d && got.b == want.b && got.f == want.f)
            // Both backends keep whole microseconds.
            #expect(got.ts.map(SQLMicros.of) == want.ts.map(SQLMicros.of), "timestamp of row \(want.id)")
        }
        // A timestamp bind compares with stored timestamps in SQL, on both backends.
        let later = try await db.read { conn in
            try conn.queryScalar(Int.self, "SELECT count(*) FROM sample WHERE ts > \(Date(timeIntervalSince1970: 1))")
        }
        #expect(later == 2)
    }

    /// A record names its columns once: the select list is written from them in order, each is read by its
    /// position (a column added to the table later, or selected after them, is never read by accident), and a
    /// stored value outside a text enum's set is a typed error, never a default.
    static func recordsReadTheirColumnsByPosition(_ db: any Database) async throws {
        enum Level: String, SQLTextEnum, Decodable { case low, high }
        struct Record: SQLRowDecodable, Equatable {
            enum Column: String, SQLColumn { case name, level, seenAt = "seen_at" }
            let name: String, level: Level, seenAt: Date?
            init(name: String, level: Level, seenAt: Date?) {
                (self.name, self.level, self.seenAt) = (name, level, seenAt)
            }
            init(row: SQLRow) throws {
                name = try row.decode(Column.name)
                level = try row.decode(Column.level)
                seenAt = try row.decode(Column.seenAt)
            }
        }
        let timestampType = db.dialect == .postgres ? "TIMESTAMPTZ" : "INTEGER"
        try await db.transaction { conn in
            // Columns in another order than the record's, and one it does not read.
            try conn.executeScript(
                unsafeSQL: "CREATE TABLE records (seen_at \(timestampType), extra TEXT, level TEXT NOT NULL, name TEXT NOT NULL)")
            try conn.execute("INSERT INTO records (seen_at, extra, level, name) VALUES (\(Date?.none), 'x', \(Level.high), 'a')")
            try conn.execute(
                "INSERT INTO records (seen_at, extra, level, name) VALUES (\(Date(timeIntervalSince1970: 5)), 'y', 'low', 'b')")
        }
        #expect(Record.Column.selectList == "name, level, seen_at")
        let read = try await db.read { conn in
            try conn.query(Record.self, "SELECT \(columns: Record.Column.self), extra FROM records r ORDER BY name")
        }
        #expect(
            read == [Record(name: "a", level: .high, seenAt: nil), Record(name: "b", level: .low, seenAt: Date(timeIntervalSince1970: 5))])
        let qualified = try await db.read { conn in
            try conn.query(Record.self, "SELECT \(columns: Record.Column.self, of: "r") FROM records r WHERE r.level = \(Level.low)")
        }
        #expect(qualified.map(\.name) == ["b"])
        // The same record read by Swift's decoding (SQLRecord): the compiler writes the field-by-field read.
        struct Decoded: SQLRecord, Equatable {
            let name: String, level: Level, seenAt: Date?
            enum Column: String, SQLColumn, CodingKey { case name, level, seenAt = "seen_at" }
            typealias CodingKeys = Column
        }
        let decoded = try await db.read { conn in
            try conn.query(Decoded.self, "SELECT \(columns: Decoded.Column.self), extra FROM records r ORDER BY name")
        }
        #expect(decoded.map { Record(name: $0.name, level: $0.level, seenAt: $0.seenAt) } == read)
        // A join reads one record after the other from the same row.
        let pairs = try await db.read { conn in
            try conn.query(
                """
                SELECT \(columns: Decoded.Column.self, of: "a"), \(columns: Decoded.Column.self, of: "b")
                FROM records a JOIN records b ON b.name <> a.name ORDER BY a.name
                """
            ).map { (try Decoded(row: $0), try Decoded(row: $0.advanced(by: Decoded.Column.allCases.count))) }
        }
        #expect(pairs.map { [$0.0.name, $0.1.name] } == [["a", "b"], ["b", "a"]])
        #expect(pairs.first?.1.seenAt == Date(timeIntervalSince1970: 5))
        _ = try await db.transaction { conn in try conn.execute("UPDATE records SET level = 'medium' WHERE name = 'a'") }
        await expectCode(.typeMismatch) {
            _ = try await db.read { conn in try conn.query(Record.self, "SELECT \(columns: Record.Column.self) FROM records") }
        }
        await expectCode(.typeMismatch) {
            _ = try await db.read { conn in try conn.query(Decoded.self, "SELECT \(columns: Decoded.Column.self) FROM records") }
        }
    }

    static func transactionRollsBackOnThrow(_ db: any Database) async throws {
        struct Boom: Error {}
        try await db.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
        try await db.execute("INSERT INTO items (id, name) VALUES (\(1), \("kept"))")
        await #expect(throws: Boom.self) {
            try await db.transaction { conn in
                try conn.execute("INSERT INTO items (id, name) VALUES (\(2), \("lost"))")
                try conn.execute("UPDATE items SET name = \("changed") WHERE id = \(1)")
                throw Boom()
            }
        }
        // A failing statement rolls back the statements before it too.
        await #expect(throws: StoreError.self) {
            try await db.transaction { conn in
                try conn.execute("INSERT INTO items (id, name) VALUES (\(3), \("lost"))")
                try conn.execute("INSERT INTO items (id, name) VALUES (\(1), \("duplicate"))")
            }
        }
        let rows = try await db.read { conn in
            try conn.query("SELECT id, name FROM items ORDER BY id").map { [try $0.decode(String.self, at: 1)] }
        }
        #expect(rows == [["kept"]])
    }

    static func constraintErrorsAreTyped(_ db: any Database) async throws {
        try await db.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY, code TEXT NOT NULL UNIQUE)")
        try await db.execute("CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL REFERENCES parent (id))")
        try await db.execute("INSERT INTO parent (id, code) VALUES (\(1), \("a"))")
        await expectCode(.uniqueViolation) { try await db.execute("INSERT INTO parent (id, code) VALUES (\(2), \("a"))") }
        await expectCode(.foreignKeyViolation) { try await db.execute("INSERT INTO child (id, parent_id) VALUES (\(1), \(99))") }
        await expectCode(.notNullViolation) { try await db.execute("INSERT INTO parent (id, code) VALUES (\(3), \(String?.none))") }
        await expectCode(.sqlError) { try await db.execute("SELECT nope FROM nowhere") }
    }

    static func errorsNeverShowBindValues(_ db: any Database) async throws {
        try await db.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL, token TEXT UNIQUE)")
        let secret = "s3cr3t-\(UUID().uuidString)"
        try await db.execute("INSERT INTO accounts (id, balance, token) VALUES (\(1), \(10), \(secret))")
        var attempts: [@Sendable () async throws -> Void] = [
            { try await db.execute("INSERT INTO accounts (id, balance, token) VALUES (\(2), \(10), \(secret))") }
        ]
        if db.dialect == .postgres {
            // PostgreSQL quotes the offending value in data-exception messages (SQLite would store the text).
            attempts.append { try await db.execute("UPDATE accounts SET balance = \(secret) WHERE id = \(1)") }
        }
        for attempt in attempts {
            do {
                try await attempt()
                Issue.record("expected an error")
            } catch let error as StoreError {
                #expect(!String(describing: error).contains(secret))
                #expect(!error.message.contains(secret))
            }
        }
    }

    /// A NUL character in a text value is refused the same way on both backends, in a write and in a search, and
    /// the table keeps what it held (PostgreSQL's text cannot hold one; SQLite would store it and cut it in C).
    static func nulInTextIsRefused(_ db: any Database) async throws {
        try await db.execute("CREATE TABLE names (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
        try await db.execute("INSERT INTO names (id, name) VALUES (\(1), \("kept"))")
        for text in ["\u{0}", "a\u{0}b", "tail\u{0}"] {
            await expectCode(.unstorableText) { try await db.execute("INSERT INTO names (id, name) VALUES (\(2), \(text))") }
            await expectCode(.unstorableText) {
                _ = try await db.read { try $0.queryScalar(Int.self, "SELECT count(*) FROM names WHERE name = \(text)") }
            }
        }
        #expect(try await db.read { try $0.queryScalar(String.self, "SELECT name FROM names") } == "kept")
    }

    static func concurrentWritersLoseNothing(_ db: any Database) async throws {
        try await db.execute("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
        try await db.execute("CREATE TABLE events (writer INTEGER NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (writer, seq))")
        try await db.execute("INSERT INTO counter (id, n) VALUES (\(1), \(0))")
        let writers = 8, each = 25
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<writers {
                group.addTask {
                    for seq in 0..<each {
                        // Read-modify-write under SERIALIZABLE: conflicts abort and are retried, never lost.
                        try await db.transaction(TransactionOptions(isolation: .serializable, maxAttempts: 50)) { conn in
                            let n = try conn.queryScalar(Int.self, "SELECT n FROM counter WHERE id = \(1)") ?? 0
                            try conn.execute("UPDATE counter SET n = \(n + 1) WHERE id = \(1)")
                            try conn.execute("INSERT INTO events (writer, seq) VALUES (\(writer), \(seq))")
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let (n, events) = try await db.read { conn in
            (
                try conn.queryScalar(Int.self, "SELECT n FROM counter") ?? -1,
                try conn.queryScalar(Int.self, "SELECT count(*) FROM events") ?? -1
            )
        }
        #expect(n == writers * each)
        #expect(events == writers * each)
    }

    /// executeBatch: one statement, many rows; a bad row rolls the whole transaction back.
    static func batchesInsertAndRollBack(_ db: any Database) async throws {
        try await db.execute("CREATE TABLE batch (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
        let rows: [[SQLValue]] = (1...250).map { [.int(Int64($0)), .text("body \($0)")] }
        let changed = try await db.transaction { try $0.executeBatch("INSERT INTO batch (id, body) VALUES ($1, $2)", rows: rows) }
        #expect(changed == 250)
        #expect(try await db.read { try $0.queryScalar(String.self, "SELECT body FROM batch WHERE id = \(250)") } == "body 250")
        // A duplicate key in the middle: nothing of this batch stays.
        await expectCode(.uniqueViolation) {
            _ = try await db.transaction {
                try $0.executeBatch(
                    "INSERT INTO batch (id, body) VALUES ($1, $2)", rows: [[.int(500), .text("x")], [.int(1), .text("dup")]])
            }
        }
        #expect(try await db.read { try $0.queryScalar(Int.self, "SELECT count(*) FROM batch") } == 250)
        // A row of the wrong length is refused before it runs.
        await expectCode(.sqlError) {
            _ = try await db.transaction { try $0.executeBatch("INSERT INTO batch (id, body) VALUES ($1, $2)", rows: [[.int(600)]]) }
        }
        #expect(try await db.read { try $0.queryScalar(Int.self, "SELECT count(*) FROM batch") } == 250)
        // Rows whose NULLs give them different parameter types, on a connection that just failed a batch.
        try await db.execute("CREATE TABLE batch_nulls (id INTEGER PRIMARY KEY, n BIGINT)")
        let mixed: [[SQLValue]] = (1...300).map { [.int(Int64($0)), $0.isMultiple(of: 3) ? .null : .int(Int64($0 * 10))] }
        #expect(try await db.transaction { try $0.executeBatch("INSERT INTO batch_nulls (id, n) VALUES ($1, $2)", rows: mixed) } == 300)
        #expect(try await db.read { try $0.queryScalar(Int.self, "SELECT count(*) FROM batch_nulls WHERE n IS NULL") } == 100)
        #expect(try await db.read { try $0.queryScalar(Int64.self, "SELECT n FROM batch_nulls WHERE id = 299") } == 2990)
    }

    /// More concurrent readers than pooled connections: the extra callers wait, none fails.
    static func readersBeyondPoolSizeWait(_ db: any Database) async throws {
        try await db.execute("CREATE TABLE numbers (n INTEGER PRIMARY KEY)")
        try await db.transaction { conn in for n in 0..<100 { try conn.execute("INSERT INTO numbers (n) VALUES (\(n))") } }
        let sums = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<64 {
                group.addTask { try await db.read { try $0.queryScalar(Int.self, "SELECT sum(n) FROM numbers") ?? -1 } }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(sums == Array(repeating: 4950, count: 64))
    }

    static func expectCode(_ code: StoreError.Code, _ body: () async throws -> Void, sourceLocation: SourceLocation = #_sourceLocation)
        async
    {
        do {
            try await body()
            Issue.record("expected \(code), got success", sourceLocation: sourceLocation)
        } catch let error as StoreError {
            #expect(error.code == code, "\(error.debugDescription)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("expected StoreError \(code), got \(error)", sourceLocation: sourceLocation)
        }
    }
}

enum SQLMicros {
    static func of(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1_000_000).rounded()) }
}
