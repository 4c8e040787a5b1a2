/// One database connection, lent to a closure by ``Database/read(_:)`` or ``Database/transaction(_:_:)``.
///
/// A connection is used by one thread at a time and must not escape the closure it was lent to.
/// Every statement is prepared once and kept in the connection's statement cache.
public protocol SQLConnection {
    /// The dialect of the connection, for the few queries that must differ.
    var dialect: SQLDialect { get }

    /// Runs a statement that returns no rows.
    /// - Returns: the number of rows inserted, updated or deleted.
    @discardableResult
    func execute(_ query: SQLQuery) throws -> Int

    /// Runs a statement and calls `body` with each row, without collecting them.
    func forEachRow(_ query: SQLQuery, _ body: (SQLRow) throws -> Void) throws

    /// Runs a statement and returns the first column of its first row, or `nil` when there is no row.
    /// Cheaper than a row for the common single-value query; ``queryScalar(_:_:)`` builds on it.
    func queryFirstValue(_ query: SQLQuery) throws -> SQLValue?

    /// Runs one statement once per row of values, prepared once: bulk inserts and updates.
    /// - Parameters:
    ///   - statement: SQL text with `$1`, `$2`, … placeholders (a literal: no value can be spliced into it).
    ///   - rows: one array of values per execution, each as long as the statement has placeholders.
    /// - Returns: the total number of rows changed.
    @discardableResult
    func executeBatch(_ statement: SQLStatement, rows: [[SQLValue]]) throws -> Int

    /// Runs several statements from trusted text in one call (migrations only). No binds.
    func executeScript(unsafeSQL script: String) throws
}

extension SQLConnection {
    /// Runs a statement and returns all its rows.
    @inlinable
    public func query(_ query: SQLQuery) throws -> [SQLRow] {
        var rows: [SQLRow] = []
        try forEachRow(query) { rows.append($0) }
        return rows
    }

    /// Runs a statement and decodes every row as `T`.
    @inlinable
    public func query<T: SQLRowDecodable>(_ type: T.Type, _ query: SQLQuery) throws -> [T] {
        var records: [T] = []
        try forEachRow(query) { records.append(try T(row: $0)) }
        return records
    }

    /// The first row of the result, or `nil`.
    @inlinable
    public func queryFirst(_ query: SQLQuery) throws -> SQLRow? {
        var first: SQLRow?
        try forEachRow(query) { row in if first == nil { first = row } }
        return first
    }

    /// The first column of the first row decoded as `T`, or `nil` when there is no row.
    @inlinable
    public func queryScalar<T: SQLDecodable>(_ type: T.Type, _ query: SQLQuery) throws -> T? {
        try queryFirstValue(query).map { try T(sqlValue: $0) }
    }
}
