import CLibPQ
import CofferFoundation
import struct Foundation.Date

/// One libpq connection with its prepared-statement cache.
///
/// Parameters go out in text format, except blobs, which go out binary as `bytea`; results come back
/// in text format and are decoded by column type. `@unchecked Sendable`: the handle and the cache are
/// only touched by the closure the pool lent the connection to (see ``PooledConnection``).
final class PostgresConnection: SQLConnection, PooledConnection, @unchecked Sendable {
    /// A statement ready to run: a named server-side statement (parsed once per connection), or, with
    /// prepared statements off, the text itself, parsed by the server with every run (libpq's unnamed statement),
    /// which a transaction-mode pooler can pass to whichever server connection it picks.
    private final class Prepared {
        let name: String?
        let sql: String
        let types: [UInt32]
        var columns: SQLColumns?
        init(name: String?, sql: String, types: [UInt32]) {
            self.name = name
            self.sql = sql
            self.types = types
        }
    }

    private enum OID {
        static let bool: UInt32 = 16
        static let bytea: UInt32 = 17
        static let int8: UInt32 = 20
        static let int2: UInt32 = 21
        static let int4: UInt32 = 23
        static let oid: UInt32 = 26
        static let float4: UInt32 = 700
        static let float8: UInt32 = 701
        static let timestamp: UInt32 = 1114
        static let timestamptz: UInt32 = 1184
    }

    private let handle: OpaquePointer
    private var cache: [StatementKey: Prepared] = [:]
    private var nextStatement = 0
    private let cacheCapacity: Int
    private let preparesStatements: Bool
    private(set) var isBroken = false
    var dialect: SQLDialect { .postgres }

    init(conninfo: String, configuration: PostgresDatabase.Configuration) throws {
        guard let handle = PQconnectdb(conninfo) else {
            throw StoreError(.connectionFailed, "libpq could not allocate a connection")
        }
        guard PQstatus(handle) == CONNECTION_OK else {
            // libpq's connection messages name hosts and users, never the password.
            let reason = String(cString: PQerrorMessage(handle)).trimmingWhitespace()
            PQfinish(handle)
            throw StoreError(
                .connectionFailed, "cannot connect to PostgreSQL (\(reason)): check that the server runs and the database URL is right"
            )
        }
        self.handle = handle
        self.cacheCapacity = configuration.statementCacheSize
        self.preparesStatements = configuration.preparedStatements
        // libpq prints NOTICEs to stderr by default; they are noise in a service's output.
        PQsetNoticeProcessor(handle, { _, _ in }, nil)
        do {
            guard PQsetClientEncoding(handle, "UTF8") == 0 else {
                throw StoreError(.connectionFailed, "PostgreSQL refused client_encoding UTF8")
            }
            try executeScript(unsafeSQL: "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET extra_float_digits = 3")
        } catch {
            PQfinish(handle)
            throw error
        }
    }

    func close() {
        PQfinish(handle)
    }

    /// Commits, and reads the WAL insert position after the commit in the same round trip (two statements in
    /// one simple query: the position is read only when the COMMIT succeeded). The position is at or after the
    /// end of the commit record: a standby that has replayed it holds this transaction.
    /// - Throws: the COMMIT's error; and ``StoreError`` `.sqlError` when PostgreSQL answered the COMMIT with
    ///   ROLLBACK (the transaction had failed and a statement's error was caught): nothing was committed, and the
    ///   caller must not answer as if it had been.
    func commitReportingPosition() throws -> WALPosition? {
        guard PQsendQuery(handle, "COMMIT; SELECT pg_current_wal_insert_lsn()::text") == 1 else { throw failure(nil) }
        var position: WALPosition?
        var firstError: StoreError?
        var statement = 0
        while let result = PQgetResult(handle) {
            defer { PQclear(result) }
            statement += 1
            switch PQresultStatus(result) {
            case PGRES_COMMAND_OK where statement == 1:
                let tag = String(cString: PQcmdStatus(result))
                if tag != "COMMIT", firstError == nil {
                    firstError = StoreError(
                        .sqlError, "PostgreSQL rolled the transaction back at COMMIT (\(tag)): a statement in it had failed")
                }
            case PGRES_TUPLES_OK where PQntuples(result) == 1 && PQgetisnull(result, 0, 0) == 0:
                position = WALPosition(String(cString: PQgetvalue(result, 0, 0)))
            case PGRES_TUPLES_OK, PGRES_COMMAND_OK:
                break
            default:
                if firstError == nil { firstError = failure(result) }
            }
        }
        if let firstError { throw firstError }
        guard statement > 0 else { throw failure(nil) }
        return position
    }

    func executeScript(unsafeSQL script: String) throws {
        let result = PQexec(handle, script)
        defer { PQclear(result) }
        let status = PQresultStatus(result)
        guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK else { throw failure(result) }
    }

    @discardableResult
    func execute(_ query: SQLQuery) throws -> Int {
        try run(query) { _ in }
    }

    func forEachRow(_ query: SQLQuery, _ body: (SQLRow) throws -> Void) throws {
        try run(query, body)
    }

    /// Runs the statement once per row in libpq's pipeline mode: the rows go to the server without waiting
    /// for each answer, so a batch costs about one round trip instead of one per row (the audit log's group
    /// commit, bulk inserts). Chunks of `pipelineChunk` rows bound what either side buffers.
    func executeBatch(_ statement: SQLStatement, rows: [[SQLValue]]) throws -> Int {
        for row in rows { try statement.check(row) }
        guard rows.count > 1 else {
            return try rows.first.map { try run(SQLQuery(segments: statement.query.segments, binds: $0)) { _ in } } ?? 0
        }
        // Prepared first (synchronously: not allowed inside a pipeline), one per distinct parameter typing.
        var prepared: [[UInt32]: Prepared] = [:]
        for row in rows {
            let types = row.map(Self.parameterType)
            if prepared[types] == nil {
                prepared[types] = try prepare(SQLQuery(segments: statement.query.segments, binds: row), types: types)
            }
        }
        var changed = 0
        var start = 0
        while start < rows.count {
            let chunk = rows[start..<min(rows.count, start + Self.pipelineChunk)]
            changed += try pipeline(chunk, prepared: prepared)
            start += chunk.count
        }
        return changed
    }

    static let pipelineChunk = 128

    private func pipeline(_ rows: ArraySlice<[SQLValue]>, prepared: [[UInt32]: Prepared]) throws -> Int {
        guard PQenterPipelineMode(handle) == 1 else { throw StoreError(.sqlError, "libpq could not enter pipeline mode") }
        defer { PQexitPipelineMode(handle) }
        for row in rows {
            guard let statement = prepared[row.map(Self.parameterType)] else {
                throw StoreError(.sqlError, "a batch row was not prepared")
            }
            let sent = try Self.withParameters(row) { values, lengths, formats in
                if let name = statement.name {
                    PQsendQueryPrepared(handle, name, Int32(row.count), values, lengths, formats, 0)
                } else {
                    PQsendQueryParams(handle, statement.sql, Int32(row.count), statement.types, values, lengths, formats, 0)
                }
            }
            guard sent == 1 else { throw failure(nil) }
        }
        guard PQpipelineSync(handle) == 1 else { throw failure(nil) }
        // One result (then NULL) per row, then the sync. The first failure is kept; later rows are aborted.
        var changed = 0
        var firstError: StoreError?
        while true {
            guard let result = PQgetResult(handle) else {
                // NULL ends one query's results; on a dead connection it is all there is.
                guard PQstatus(handle) == CONNECTION_OK else {
                    isBroken = true
                    throw StoreError(.connectionLost, "the connection to PostgreSQL was lost during a batch")
                }
                continue
            }
            defer { PQclear(result) }
            switch PQresultStatus(result) {
            case PGRES_PIPELINE_SYNC:
                if let firstError { throw firstError }
                return changed
            case PGRES_COMMAND_OK, PGRES_TUPLES_OK:
                changed += Int(String(cString: PQcmdTuples(result))) ?? 0
            case PGRES_PIPELINE_ABORTED:
                continue
            default:
                if firstError == nil { firstError = failure(result) }
                if isBroken { throw firstError ?? failure(result) }
            }
        }
    }

    func queryFirstValue(_ query: SQLQuery) throws -> SQLValue? {
        var first: SQLValue?
        try run(query) { row in
            if first == nil, let value = row.values.first { first = value }
        }
        return first
    }

    @discardableResult
    private func run(_ query: SQLQuery, _ body: (SQLRow) throws -> Void) throws -> Int {
        let binds = query.binds
        let prepared = try prepare(query, types: binds.map(Self.parameterType))

        let result = try Self.withParameters(binds) { values, lengths, formats in
            if let name = prepared.name {
                PQexecPrepared(handle, name, Int32(binds.count), values, lengths, formats, 0)
            } else {
                PQexecParams(handle, prepared.sql, Int32(binds.count), prepared.types, values, lengths, formats, 0)
            }
        }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK:
            return Int(String(cString: PQcmdTuples(result))) ?? 0
        case PGRES_TUPLES_OK:
            let fieldCount = PQnfields(result)
            let columns = prepared.columns ?? SQLColumns((0..<fieldCount).map { String(cString: PQfname(result, $0)) })
            prepared.columns = columns
            let types = (0..<fieldCount).map { PQftype(result, $0) }
            let rowCount = PQntuples(result)
            for row in 0..<rowCount {
                var values: [SQLValue] = []
                values.reserveCapacity(Int(fieldCount))
                for field in 0..<fieldCount { values.append(try value(result, row, field, type: types[Int(field)])) }
                try body(SQLRow(columns: columns, values: values))
            }
            return Int(rowCount)
        default:
            throw failure(result)
        }
    }

    /// Calls `body` with libpq's parameter arrays for `binds`: all bytes in one buffer, text NUL-terminated
    /// as libpq reads it, blobs binary.
    private static func withParameters<T>(
        _ binds: [SQLValue],
        _ body: ([UnsafePointer<CChar>?], [Int32], [Int32]) throws -> T
    ) throws -> T {
        var buffer: [UInt8] = []
        var offsets: [Int?] = []
        var lengths: [Int32] = []
        var formats: [Int32] = []
        for value in binds {
            let start = buffer.count
            switch value {
            case .null:
                offsets.append(nil)
                lengths.append(0)
                formats.append(0)
                continue
            case .blob(let bytes):
                buffer.append(contentsOf: bytes)
                formats.append(1)
            case .text(let text):
                guard !text.utf8.contains(0) else { throw StoreError.nulInText }
                buffer.append(contentsOf: text.utf8)
                buffer.append(0)
                formats.append(0)
            default:
                buffer.append(contentsOf: Self.text(of: value).utf8)
                buffer.append(0)
                formats.append(0)
            }
            offsets.append(start)
            lengths.append(Int32(buffer.count - start))
        }
        return try buffer.withUnsafeBufferPointer { bytes in
            let base = bytes.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) }
            let pointers: [UnsafePointer<CChar>?] = offsets.map { offset in offset.flatMap { base?.advanced(by: $0) } }
            return try body(pointers, lengths, formats)
        }
    }

    /// A prepared statement is its text (the query's segments) and its declared parameter types.
    private struct StatementKey: Hashable {
        let segments: [String]
        let types: [UInt32]
    }

    private func prepare(_ query: SQLQuery, types: [UInt32]) throws -> Prepared {
        guard preparesStatements else { return Prepared(name: nil, sql: query.sql, types: types) }
        let key = StatementKey(segments: query.segments, types: types)
        if let cached = cache[key] { return cached }
        let sql = query.sql
        if cache.count >= cacheCapacity {
            try executeScript(unsafeSQL: "DEALLOCATE ALL")
            cache.removeAll(keepingCapacity: true)
        }
        nextStatement += 1
        let name = "coffer_\(nextStatement)"
        let prepared = Prepared(name: name, sql: sql, types: types)
        let result = PQprepare(handle, name, sql, Int32(types.count), types)
        defer { PQclear(result) }
        guard PQresultStatus(result) == PGRES_COMMAND_OK else { throw failure(result) }
        cache[key] = prepared
        return prepared
    }

    private func failure(_ result: OpaquePointer?) -> StoreError {
        let error = StoreError.postgres(result, connection: handle)
        if error.code == .connectionLost { isBroken = true }
        return error
    }

    /// Declared types only where inference would go wrong; text stays unknown (0) so the server infers it.
    private static func parameterType(_ value: SQLValue) -> UInt32 {
        switch value {
        case .null, .text: 0
        case .bool: OID.bool
        case .int: OID.int8
        case .double: OID.float8
        case .blob: OID.bytea
        case .timestamp: OID.timestamptz
        }
    }

    private static func text(of value: SQLValue) -> String {
        switch value {
        case .bool(let bool): bool ? "t" : "f"
        case .int(let int): String(int)
        case .double(let double):
            double.isNaN ? "NaN" : double.isInfinite ? (double < 0 ? "-Infinity" : "Infinity") : "\(double)"
        case .timestamp(let date): PostgresTimestamp.format(microseconds: SQLValue.microseconds(of: date))
        case .text(let text): text
        case .null, .blob: ""
        }
    }

    private func value(_ result: OpaquePointer?, _ row: Int32, _ field: Int32, type: UInt32) throws -> SQLValue {
        if PQgetisnull(result, row, field) == 1 { return .null }
        let length = Int(PQgetlength(result, row, field))
        let bytes = UnsafeRawBufferPointer(start: PQgetvalue(result, row, field), count: length)
        let text = { String(decoding: bytes, as: UTF8.self) }
        switch type {
        case OID.bool:
            return .bool(length > 0 && bytes[0] == UInt8(ascii: "t"))
        case OID.int2, OID.int4, OID.int8, OID.oid:
            guard let int = Int64(text()) else { throw Self.undecodable(type) }
            return .int(int)
        case OID.float4, OID.float8:
            guard let double = Double(text().replacingInfinity()) else { throw Self.undecodable(type) }
            return .double(double)
        case OID.bytea:
            guard let blob = Self.decodeHex(bytes) else { throw Self.undecodable(type) }
            return .blob(blob)
        case OID.timestamptz, OID.timestamp:
            guard let micros = PostgresTimestamp.parse(bytes) else { throw Self.undecodable(type) }
            return .timestamp(SQLValue.date(microseconds: micros))
        default:
            return .text(text())
        }
    }

    private static func undecodable(_ type: UInt32) -> StoreError {
        StoreError(.typeMismatch, "cannot decode a PostgreSQL value of type OID \(type)")
    }

    /// `bytea` in PostgreSQL's hex output format: `\x` then two hex digits a byte.
    private static func decodeHex(_ bytes: UnsafeRawBufferPointer) -> [UInt8]? {
        guard bytes.count >= 2, bytes[0] == UInt8(ascii: "\\"), bytes[1] == UInt8(ascii: "x") else { return nil }
        return Hex.decode(utf8: UnsafeRawBufferPointer(rebasing: bytes[2...]))
    }
}

extension String {
    /// PostgreSQL prints infinities as `Infinity`, Swift parses `inf`.
    fileprivate func replacingInfinity() -> String {
        switch self {
        case "Infinity": "inf"
        case "-Infinity": "-inf"
        default: self
        }
    }
}
