import CSQLite
import CofferFoundation
import struct Foundation.Date

/// One SQLite connection with its statement cache.
///
/// `@unchecked Sendable`: the handle and the cache are only touched by the closure the pool lent the
/// connection to, one thread at a time (see ``PooledConnection``).
final class SQLiteConnection: SQLConnection, PooledConnection, @unchecked Sendable {
    private struct Prepared {
        let statement: OpaquePointer
        let columns: SQLColumns
    }

    private let handle: OpaquePointer
    /// Keyed by a query's segments (its text between binds), see ``SQLQuery``.
    private var cache: [[String]: Prepared] = [:]
    private var lastUsed: (segments: [String], prepared: Prepared)?
    private let cacheCapacity: Int
    var dialect: SQLDialect { .sqlite }
    var isBroken: Bool { false }

    init(path: String, readOnly: Bool, configuration: SQLiteDatabase.Configuration) throws {
        var handle: OpaquePointer?
        // Readers open read-write with `query_only`: a SQLITE_OPEN_READONLY connection cannot keep the WAL
        // index mapped the same way and pays extra file-lock calls on every statement (measured: ~25%).
        let flags = SQLITE_OPEN_READWRITE | (readOnly ? 0 : SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        let rc = sqlite3_open_v2(path, &handle, flags, nil)
        guard rc == SQLITE_OK, let handle else {
            let error = StoreError.sqlite(rc, handle)
            sqlite3_close_v2(handle)
            throw StoreError(
                .cannotOpen, "cannot open the SQLite database \(path) (\(error.message)): check the path and its permissions",
                detail: error.detail, underlying: error
            )
        }
        self.handle = handle
        self.cacheCapacity = configuration.statementCacheSize
        do {
            sqlite3_busy_timeout(handle, Int32(clamping: configuration.busyTimeoutMilliseconds))
            try executeScript(unsafeSQL: "PRAGMA foreign_keys = ON")
            if readOnly {
                try executeScript(unsafeSQL: "PRAGMA query_only = ON")
            } else {
                // WAL lets the pooled readers read while the single writer writes.
                try executeScript(unsafeSQL: "PRAGMA journal_mode = WAL")
                try executeScript(unsafeSQL: "PRAGMA synchronous = \(configuration.synchronous.rawValue)")
            }
        } catch {
            close()
            throw error
        }
    }

    /// Copies the whole database into a new file at `destination` with SQLite's online backup API, in one
    /// step: one read transaction, so the copy is a consistent snapshot while writers go on (WAL).
    func backup(to destination: String) throws -> Int {
        var target: OpaquePointer?
        let rc = sqlite3_open_v2(destination, &target, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_EXRESCODE, nil)
        defer { sqlite3_close_v2(target) }
        guard rc == SQLITE_OK, let target else {
            throw StoreError(
                .cannotOpen, "cannot create the backup file \(destination): check the folder and its permissions")
        }
        guard let backup = sqlite3_backup_init(target, "main", handle, "main") else {
            throw StoreError.sqlite(sqlite3_errcode(target), target)
        }
        let step = sqlite3_backup_step(backup, -1)
        let pages = Int(sqlite3_backup_pagecount(backup))
        let finish = sqlite3_backup_finish(backup)
        guard step == SQLITE_DONE, finish == SQLITE_OK else {
            throw StoreError(
                .sqlError, "the backup to \(destination) did not complete (SQLite code \(step)); nothing usable was written")
        }
        return pages
    }

    func close() {
        for prepared in cache.values { sqlite3_finalize(prepared.statement) }
        cache = [:]
        lastUsed = nil
        sqlite3_close_v2(handle)
    }

    func executeScript(unsafeSQL script: String) throws {
        let rc = sqlite3_exec(handle, script, nil, nil, nil)
        guard rc == SQLITE_OK else { throw StoreError.sqlite(rc, handle) }
    }

    @discardableResult
    func execute(_ query: SQLQuery) throws -> Int {
        try withStatement(query) { statement in
            while try step(statement) {}
        }
        return Int(sqlite3_changes(handle))
    }

    func forEachRow(_ query: SQLQuery, _ body: (SQLRow) throws -> Void) throws {
        try withStatement(query) { statement, columns in
            let count = sqlite3_column_count(statement)
            while try step(statement) {
                var values: [SQLValue] = []
                values.reserveCapacity(Int(count))
                for column in 0..<count { values.append(read(column, of: statement)) }
                try body(SQLRow(columns: columns, values: values))
            }
        }
    }

    func executeBatch(_ statement: SQLStatement, rows: [[SQLValue]]) throws -> Int {
        let prepared = try prepare(statement.query).statement
        var changed = 0
        for row in rows {
            try statement.check(row)
            defer { sqlite3_reset(prepared) }
            for (offset, value) in row.enumerated() { try bind(value, at: Int32(offset + 1), in: prepared) }
            while try step(prepared) {}
            changed += Int(sqlite3_changes(handle))
        }
        return changed
    }

    func queryFirstValue(_ query: SQLQuery) throws -> SQLValue? {
        try withStatement(query) { statement in
            guard try step(statement), sqlite3_column_count(statement) > 0 else { return nil }
            return read(0, of: statement)
        }
    }

    /// Prepares (or reuses) the statement, binds, runs `body`, and resets the statement whatever happens.
    private func withStatement<T>(_ query: SQLQuery, _ body: (OpaquePointer, SQLColumns) throws -> T) throws -> T {
        let prepared = try prepare(query)
        let statement = prepared.statement
        // No sqlite3_clear_bindings: every execution binds every parameter anew, and keeping the bound
        // buffers lets SQLite reuse them instead of a malloc and free per value (measured: ~30% more time
        // inside SQLite with it). Clearing would not wipe them either: SQLite frees without zeroing, and no
        // plaintext secret is ever bound (only ciphertext).
        defer { sqlite3_reset(statement) }
        for (offset, value) in query.binds.enumerated() {
            try bind(value, at: Int32(offset + 1), in: statement)
        }
        return try body(statement, prepared.columns)
    }

    private func withStatement<T>(_ query: SQLQuery, _ body: (OpaquePointer) throws -> T) throws -> T {
        try withStatement(query) { statement, _ in try body(statement) }
    }

    /// One `sqlite3_step`: true for a row, false when done.
    private func step(_ statement: OpaquePointer) throws -> Bool {
        switch sqlite3_step(statement) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        case let rc: throw StoreError.sqlite(rc, handle)
        }
    }

    private func prepare(_ query: SQLQuery) throws -> Prepared {
        // Loops repeat one statement: comparing segments with the last one (the same immortal literals,
        // so each comparison is an identity check) is cheaper than hashing them.
        if let last = lastUsed, last.segments == query.segments { return last.prepared }
        if let cached = cache[query.segments] {
            lastUsed = (query.segments, cached)
            return cached
        }
        let sql = query.sql
        var statement: OpaquePointer?
        let rc = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard rc == SQLITE_OK, let statement else { throw StoreError.sqlite(rc, handle) }
        let names = (0..<sqlite3_column_count(statement)).map { String(cString: sqlite3_column_name(statement, $0)) }
        let prepared = Prepared(statement: statement, columns: SQLColumns(names))
        if cache.count >= cacheCapacity {
            // Simple and bounded: drop the whole cache rather than track recency on the hot path.
            for old in cache.values { sqlite3_finalize(old.statement) }
            cache.removeAll(keepingCapacity: true)
            lastUsed = nil
        }
        cache[query.segments] = prepared
        lastUsed = (query.segments, prepared)
        return prepared
    }

    private func bind(_ value: SQLValue, at index: Int32, in statement: OpaquePointer) throws {
        let rc: Int32
        switch value {
        case .null: rc = sqlite3_bind_null(statement, index)
        case .bool(let bool): rc = sqlite3_bind_int64(statement, index, bool ? 1 : 0)
        case .int(let int): rc = sqlite3_bind_int64(statement, index, int)
        case .double(let double): rc = sqlite3_bind_double(statement, index, double)
        case .timestamp(let date): rc = sqlite3_bind_int64(statement, index, SQLValue.microseconds(of: date))
        case .text(let text):
            // Refused as PostgreSQL refuses it, so both backends keep the same values.
            guard !text.utf8.contains(0) else { throw StoreError.nulInText }
            var text = text
            rc = text.withUTF8 { utf8 in
                UnsafeRawBufferPointer(utf8).withMemoryRebound(to: CChar.self) { chars in
                    // An empty string has no base address, and a NULL pointer would bind NULL.
                    guard let base = chars.baseAddress else {
                        return sqlite3_bind_text(statement, index, "", 0, coffer_sqlite_transient())
                    }
                    return sqlite3_bind_text(statement, index, base, Int32(chars.count), coffer_sqlite_transient())
                }
            }
        case .blob(let bytes):
            if bytes.isEmpty {
                // An empty blob must stay a blob, not turn into NULL.
                rc = sqlite3_bind_zeroblob(statement, index, 0)
            } else {
                rc = bytes.withUnsafeBytes { raw in
                    sqlite3_bind_blob(statement, index, raw.baseAddress, Int32(raw.count), coffer_sqlite_transient())
                }
            }
        }
        guard rc == SQLITE_OK else { throw StoreError.sqlite(rc, handle) }
    }

    private func read(_ column: Int32, of statement: OpaquePointer) -> SQLValue {
        switch sqlite3_column_type(statement, column) {
        case SQLITE_INTEGER:
            return .int(sqlite3_column_int64(statement, column))
        case SQLITE_FLOAT:
            return .double(sqlite3_column_double(statement, column))
        case SQLITE_TEXT:
            let count = Int(sqlite3_column_bytes(statement, column))
            guard let pointer = sqlite3_column_text(statement, column) else { return .text("") }
            return .text(String(decoding: UnsafeBufferPointer(start: pointer, count: count), as: UTF8.self))
        case SQLITE_BLOB:
            let count = Int(sqlite3_column_bytes(statement, column))
            guard count > 0, let pointer = sqlite3_column_blob(statement, column) else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: pointer, count: count)))
        default:
            return .null
        }
    }
}
