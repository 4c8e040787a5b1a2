import CLibPQ
import CSQLite
import CofferStore

/// The same work as the benchmark does through CofferStore, written straight against a C API.
protocol RawBackend {
    /// Reads `value` for each id; returns the bytes read (so the work cannot be optimised away).
    func pointReads(_ ids: [Int]) throws -> Int
    func insert(from first: Int, count: Int, batch: Int) throws
    func close()
}

struct RawFailure: Error, CustomStringConvertible {
    let description: String
}

/// sqlite3 with one prepared statement per query, as a careful C programmer would write it.
final class RawSQLite: RawBackend {
    let handle: OpaquePointer

    init(path: String) throws {
        var handle: OpaquePointer?
        guard sqlite3_open_v2(path, &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK, let handle else {
            throw RawFailure(description: "sqlite3_open_v2 failed")
        }
        self.handle = handle
        // The same settings CofferStore's writer uses, so inserts pay the same fsyncs.
        sqlite3_exec(handle, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON", nil, nil, nil)
    }

    private func prepare(_ sql: String) throws -> OpaquePointer {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(handle, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
            throw RawFailure(description: String(cString: sqlite3_errmsg(handle)))
        }
        return statement
    }

    func pointReads(_ ids: [Int]) throws -> Int {
        let statement = try prepare("SELECT value FROM bench_read WHERE id = ?1")
        defer { sqlite3_finalize(statement) }
        var bytes = 0
        for id in ids {
            sqlite3_bind_int64(statement, 1, Int64(id))
            if sqlite3_step(statement) == SQLITE_ROW, let text = sqlite3_column_text(statement, 0) {
                // Materialise the value as the layer does: a Swift String.
                bytes += String(cString: text).utf8.count
            }
            sqlite3_reset(statement)
        }
        return bytes
    }

    func insert(from first: Int, count: Int, batch: Int) throws {
        let statement = try prepare("INSERT INTO bench_insert (id, value, n) VALUES (?1, ?2, ?3)")
        defer { sqlite3_finalize(statement) }
        for start in stride(from: first, to: first + count, by: batch) {
            guard sqlite3_exec(handle, "BEGIN IMMEDIATE", nil, nil, nil) == SQLITE_OK else { throw RawFailure(description: "BEGIN failed") }
            for id in start..<min(start + batch, first + count) {
                sqlite3_bind_int64(statement, 1, Int64(id))
                let value = "row-\(id)"
                sqlite3_bind_text(statement, 2, value, -1, coffer_sqlite_transient())
                sqlite3_bind_int64(statement, 3, Int64(id * 7))
                guard sqlite3_step(statement) == SQLITE_DONE else { throw RawFailure(description: String(cString: sqlite3_errmsg(handle))) }
                sqlite3_reset(statement)
            }
            guard sqlite3_exec(handle, "COMMIT", nil, nil, nil) == SQLITE_OK else { throw RawFailure(description: "COMMIT failed") }
        }
    }

    func close() { sqlite3_close_v2(handle) }
}

/// libpq with named prepared statements and text parameters, as CofferStore sends them.
final class RawPostgres: RawBackend {
    let connection: OpaquePointer

    init(conninfo: String) throws {
        guard let connection = PQconnectdb(conninfo), PQstatus(connection) == CONNECTION_OK else {
            throw RawFailure(description: "PQconnectdb failed")
        }
        self.connection = connection
        try exec("SET TimeZone = 'UTC'")
    }

    private var prepared = false

    /// Prepared on first use: the benchmark creates its tables after connecting.
    private func prepareOnce() throws {
        guard !prepared else { return }
        try prepare("read", "SELECT value FROM bench_read WHERE id = $1", types: [20])
        try prepare("insert", "INSERT INTO bench_insert (id, value, n) VALUES ($1, $2, $3)", types: [20, 0, 20])
        prepared = true
    }

    private func exec(_ sql: String) throws {
        let result = PQexec(connection, sql)
        defer { PQclear(result) }
        guard PQresultStatus(result) == PGRES_COMMAND_OK else { throw RawFailure(description: String(cString: PQerrorMessage(connection))) }
    }

    private func prepare(_ name: String, _ sql: String, types: [UInt32]) throws {
        let result = PQprepare(connection, name, sql, Int32(types.count), types)
        defer { PQclear(result) }
        guard PQresultStatus(result) == PGRES_COMMAND_OK else { throw RawFailure(description: String(cString: PQerrorMessage(connection))) }
    }

    func pointReads(_ ids: [Int]) throws -> Int {
        try prepareOnce()
        var bytes = 0
        for id in ids {
            let text = String(id)
            let result = text.withCString { pointer -> OpaquePointer? in
                var values: [UnsafePointer<CChar>?] = [pointer]
                return PQexecPrepared(connection, "read", 1, &values, nil, nil, 0)
            }
            defer { PQclear(result) }
            guard PQresultStatus(result) == PGRES_TUPLES_OK else {
                throw RawFailure(description: String(cString: PQerrorMessage(connection)))
            }
            if PQntuples(result) == 1 { bytes += String(cString: PQgetvalue(result, 0, 0)).utf8.count }
        }
        return bytes
    }

    func insert(from first: Int, count: Int, batch: Int) throws {
        try prepareOnce()
        for start in stride(from: first, to: first + count, by: batch) {
            try exec("BEGIN")
            for id in start..<min(start + batch, first + count) {
                let fields = [String(id), "row-\(id)", String(id * 7)]
                let result = fields[0].withCString { a in
                    fields[1].withCString { b in
                        fields[2].withCString { c -> OpaquePointer? in
                            var values: [UnsafePointer<CChar>?] = [a, b, c]
                            return PQexecPrepared(connection, "insert", 3, &values, nil, nil, 0)
                        }
                    }
                }
                defer { PQclear(result) }
                guard PQresultStatus(result) == PGRES_COMMAND_OK else {
                    throw RawFailure(description: String(cString: PQerrorMessage(connection)))
                }
            }
            try exec("COMMIT")
        }
    }

    func close() { PQfinish(connection) }
}

/// Metric points straight through the C APIs, for `coffer-bench suite2`: the same rows the metric store
/// writes (series, time, value) into a table of the same shape, `batch` rows per transaction, one prepared
/// statement executed per row.
enum RawPoints {
    static func sqlite(path: String, series: Int, start: Int64, count: Int, batch: Int) throws {
        let raw = try RawSQLite(path: path)
        defer { raw.close() }
        sqlite3_exec(
            raw.handle,
            """
            CREATE TABLE IF NOT EXISTS bench_raw_points (series_id INTEGER NOT NULL, ts INTEGER NOT NULL, value REAL NOT NULL,
            PRIMARY KEY (series_id, ts))
            """,
            nil, nil, nil)
        var statement: OpaquePointer?
        guard
            sqlite3_prepare_v2(raw.handle, "INSERT INTO bench_raw_points (series_id, ts, value) VALUES (?1, ?2, ?3)", -1, &statement, nil)
                == SQLITE_OK, let statement
        else {
            throw RawFailure(description: String(cString: sqlite3_errmsg(raw.handle)))
        }
        defer { sqlite3_finalize(statement) }
        for first in stride(from: 0, to: count, by: batch) {
            guard sqlite3_exec(raw.handle, "BEGIN IMMEDIATE", nil, nil, nil) == SQLITE_OK else {
                throw RawFailure(description: "BEGIN failed")
            }
            for index in first..<min(first + batch, count) {
                sqlite3_bind_int64(statement, 1, Int64(index % series))
                sqlite3_bind_int64(statement, 2, (start + Int64(index / series)) * 1_000_000)
                sqlite3_bind_double(statement, 3, Double(index % 1000))
                guard sqlite3_step(statement) == SQLITE_DONE else {
                    throw RawFailure(description: String(cString: sqlite3_errmsg(raw.handle)))
                }
                sqlite3_reset(statement)
            }
            guard sqlite3_exec(raw.handle, "COMMIT", nil, nil, nil) == SQLITE_OK else { throw RawFailure(description: "COMMIT failed") }
        }
    }

    static func postgres(url: String, series: Int, start: Int64, count: Int, batch: Int) throws {
        guard let connection = PQconnectdb(url), PQstatus(connection) == CONNECTION_OK else {
            throw RawFailure(description: "PQconnectdb failed")
        }
        defer { PQfinish(connection) }
        func exec(_ sql: String) throws {
            let result = PQexec(connection, sql)
            defer { PQclear(result) }
            guard PQresultStatus(result) == PGRES_COMMAND_OK else {
                throw RawFailure(description: String(cString: PQerrorMessage(connection)))
            }
        }
        try exec(
            """
            CREATE TABLE IF NOT EXISTS bench_raw_points (series_id BIGINT NOT NULL, ts TIMESTAMPTZ NOT NULL, value DOUBLE
            PRECISION NOT NULL, PRIMARY KEY (series_id, ts))
            """
        )
        let prepared = PQprepare(
            connection, "point", "INSERT INTO bench_raw_points (series_id, ts, value) VALUES ($1, to_timestamp($2), $3)", 3, [20, 701, 701])
        PQclear(prepared)
        // Pipelined, 128 rows per round trip, as a careful C programmer bulk-inserts with libpq (and as CofferStore does).
        for first in stride(from: 0, to: count, by: batch) {
            try exec("BEGIN")
            var chunk = first
            while chunk < min(first + batch, count) {
                let end = min(chunk + 128, first + batch, count)
                guard PQenterPipelineMode(connection) == 1 else { throw RawFailure(description: "no pipeline mode") }
                for index in chunk..<end {
                    let fields = [String(index % series), String(start + Int64(index / series)), String(Double(index % 1000))]
                    let sent = fields[0].withCString { a in
                        fields[1].withCString { b in
                            fields[2].withCString { c -> Int32 in
                                var values: [UnsafePointer<CChar>?] = [a, b, c]
                                return PQsendQueryPrepared(connection, "point", 3, &values, nil, nil, 0)
                            }
                        }
                    }
                    guard sent == 1 else { throw RawFailure(description: String(cString: PQerrorMessage(connection))) }
                }
                guard PQpipelineSync(connection) == 1 else { throw RawFailure(description: "sync failed") }
                var synced = false
                while !synced {
                    guard let result = PQgetResult(connection) else { continue }
                    let status = PQresultStatus(result)
                    PQclear(result)
                    if status == PGRES_PIPELINE_SYNC {
                        synced = true
                    } else if status != PGRES_COMMAND_OK {
                        throw RawFailure(description: String(cString: PQerrorMessage(connection)))
                    }
                }
                PQexitPipelineMode(connection)
                chunk = end
            }
            try exec("COMMIT")
        }
    }
}
