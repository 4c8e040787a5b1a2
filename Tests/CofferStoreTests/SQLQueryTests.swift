@testable import CofferStore
import Foundation
import Testing

struct SQLQueryTests {
    @Test func interpolatedValuesBecomeNumberedBinds() {
        let name = "x'; DROP TABLE users; --"
        let query: SQLQuery = "SELECT * FROM users WHERE name = \(name) AND age > \(30) AND flag = \(true)"
        #expect(query.sql == "SELECT * FROM users WHERE name = $1 AND age > $2 AND flag = $3")
        #expect(query.binds == [.text(name), .int(30), .bool(true)])
    }

    @Test func descriptionNeverShowsBinds() {
        let secret = "hunter2"
        let query: SQLQuery = "UPDATE t SET password = \(secret) WHERE id = \(1)"
        #expect(query.description == "UPDATE t SET password = $1 WHERE id = $2")
        #expect(!String(reflecting: query).contains(secret))
    }

    @Test func nestedQueriesKeepTheirBinds() {
        var query: SQLQuery = "SELECT id FROM t WHERE a = \(1)"
        query.append(" AND b = \(2)")
        let inner: SQLQuery = "c = \(3)"
        let outer: SQLQuery = "\(query) AND \(inner) ORDER BY \(unsafeRaw: "id")"
        #expect(outer.sql == "SELECT id FROM t WHERE a = $1 AND b = $2 AND c = $3 ORDER BY id")
        #expect(outer.binds == [.int(1), .int(2), .int(3)])
        #expect(outer.segments.count == outer.binds.count + 1)
    }

    @Test func statementCountsItsPlaceholders() {
        #expect(SQLStatement.highestPlaceholder(in: "INSERT INTO t VALUES ($1, $2, $12)") == 12)
        #expect(SQLStatement.highestPlaceholder(in: "SELECT 1") == 0)
    }

    @Test func literalPlaceholdersAreDetected() {
        #expect(SQLQuery.containsPlaceholder("SELECT '$1'"))
        #expect(!SQLQuery.containsPlaceholder("SELECT '$' || 'x1'"))
    }

    @Test func optionalsBindAsNull() {
        let missing: String? = nil
        #expect(("SELECT \(missing)" as SQLQuery).binds == [.null])
    }

    @Test(arguments: [
        ("1970-01-01 00:00:00+00", Int64(0)),
        ("2026-11-25 13:06:21.123456+00", Int64(1_795_611_981_123_456)),
        ("2026-11-25 14:06:21.5+01", Int64(1_795_611_981_500_000)),
        ("1969-12-31 23:59:59.999999+00", Int64(-1)),
        ("1900-03-01 00:00:00+00", Int64(-2_203_891_200_000_000))
    ])
    func postgresTimestampsParseAndFormat(text: String, micros: Int64) {
        #expect(PostgresTimestamp.parse(Array(text.utf8)) == micros)
        #expect(PostgresTimestamp.parse(Array(PostgresTimestamp.format(microseconds: micros).utf8)) == micros)
    }

    @Test func postgresTimestampRejectsGarbage() {
        for text in ["infinity", "2026-11-25", "2026-11-25 13:06:21+00 trailing", ""] {
            #expect(PostgresTimestamp.parse(Array(text.utf8)) == nil, "\(text)")
        }
    }
}
