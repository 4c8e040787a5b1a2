import CofferFoundation
/// One result row: column names shared by every row of the result, and the values in column order.
public struct SQLRow: Sendable {
    /// Column names of the result, shared by all its rows.
    public let columns: SQLColumns
    /// Values in column order.
    public let values: [SQLValue]
    /// Where the row's column 0 stands in ``values``: 0, except in a view made by ``advanced(by:)``.
    private let start: Int

    init(columns: SQLColumns, values: [SQLValue], start: Int = 0) {
        self.columns = columns
        self.values = values
        self.start = start
    }

    /// The same row seen from `count` columns further on: a join selects one record's columns after another's,
    /// and each record reads its own from its column 0.
    public func advanced(by count: Int) -> SQLRow {
        SQLRow(columns: columns, values: values, start: start + count)
    }

    /// The value in column `name` (anywhere in the row), or `nil` when the result has no such column.
    public subscript(_ name: String) -> SQLValue? {
        columns.index(of: name).map { values[$0] }
    }

    /// Decodes column `index` (zero-based, from where the row starts) as `T`.
    /// - Throws: ``StoreError`` `.typeMismatch` or `.noSuchColumn`.
    public func decode<T: SQLDecodable>(_ type: T.Type = T.self, at index: Int) throws -> T {
        try decode(type, absolute: start + index)
    }

    /// Decodes column `name` (anywhere in the row) as `T`.
    /// - Throws: ``StoreError`` `.typeMismatch` or `.noSuchColumn`.
    public func decode<T: SQLDecodable>(_ type: T.Type = T.self, column name: String) throws -> T {
        guard let index = columns.index(of: name) else {
            throw StoreError(.noSuchColumn, "result has no column named \(name)")
        }
        return try decode(type, absolute: index)
    }

    private func decode<T: SQLDecodable>(_ type: T.Type, absolute index: Int) throws -> T {
        guard values.indices.contains(index) else {
            throw StoreError(.noSuchColumn, "result has no column at index \(index)")
        }
        do { return try T(sqlValue: values[index]) } catch let error as StoreError {
            throw StoreError(error.code, "column \(columns.names[index]): \(error.message)", underlying: error)
        }
    }
}

/// The column names of a result. A final class so that every row shares one copy.
public final class SQLColumns: Sendable {
    /// Names in result order.
    public let names: [String]
    private let positions: [String: Int]

    init(_ names: [String]) {
        self.names = names
        var positions: [String: Int] = [:]
        for (index, name) in names.enumerated() where positions[name] == nil { positions[name] = index }
        self.positions = positions
    }

    func index(of name: String) -> Int? { positions[name] }
}

/// A record type that can be built from a result row (one record struct per table).
public protocol SQLRowDecodable: Sendable {
    /// Builds the record from `row`.
    init(row: SQLRow) throws
}
