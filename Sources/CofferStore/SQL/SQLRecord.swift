public import CofferFoundation

/// The columns a record reads from its table, declared once as an enum whose raw values are the column names.
/// A query selects them with `\(columns: Record.Column.self)` (never `SELECT *`), in declaration order, so the
/// record decodes each by its position: no name lookup per value, and a column the table gains later is
/// never read by accident.
///
/// ```swift
/// struct IssueRecord: SQLRowDecodable {
///     enum Column: String, SQLColumn { case id, title }
///     init(row: SQLRow) throws { id = try row.decode(Column.id); title = try row.decode(Column.title) }
/// }
/// try conn.query(IssueRecord.self, "SELECT \(columns: IssueRecord.Column.self) FROM error_issues WHERE id = \(id)")
/// ```
public protocol SQLColumn: RawRepresentable<String>, CaseIterable, Hashable, Sendable where AllCases == [Self] {}

extension SQLColumn {
    /// Where this column stands in the select list: its place among the cases. A column enum has no payload, so
    /// Swift stores a case as its index in declaration order, the order `allCases` lists: that byte is read
    /// directly, because building `allCases` and searching it for every value read cost the secret read (some 25
    /// values a request) measurable CPU. Debug builds, and so every test, check it against the search.
    @inlinable
    public var position: Int {
        guard MemoryLayout<Self>.size == 1 else { return Self.allCases.firstIndex(of: self) ?? 0 }
        let index = Int(withUnsafeBytes(of: self) { $0[0] })
        assert(index == Self.allCases.firstIndex(of: self), "\(Self.self) is not stored as its case index")
        return index
    }

    /// `a, b, c`: the select list, from the cases in order. The names are code, never input.
    public static var selectList: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

extension SQLRow {
    /// Decodes `column`, read by its position in a select list made from its ``SQLColumn`` type.
    /// - Throws: ``StoreError`` `.typeMismatch` (naming the column), or `.noSuchColumn`.
    @inlinable
    public func decode<T: SQLDecodable>(_ column: some SQLColumn, as type: T.Type = T.self) throws -> T {
        try decode(type, at: column.position)
    }
}

extension SQLQuery.StringInterpolation {
    /// A record's select list, written out from its ``SQLColumn`` type; an `alias` qualifies each column
    /// (`i.id, i.title`) for a join. Both are code, never input, so they go in as text.
    public mutating func appendInterpolation<C: SQLColumn>(columns: C.Type, of alias: String? = nil) {
        guard let alias else { return appendLiteral(C.selectList) }
        appendLiteral(C.allCases.map { "\(alias).\($0.rawValue)" }.joined(separator: ", "))
    }
}

/// A small closed set stored as its text (a status, a severity, a label): it binds as its raw value and reads
/// back only as one of its cases; a stored value outside the set is a `.typeMismatch` that names it, never a
/// silent default.
public protocol SQLTextEnum: RawRepresentable<String>, SQLBindable, SQLDecodable {}

extension SQLTextEnum {
    @inlinable
    public var sqlValue: SQLValue { .text(rawValue) }

    public init(sqlValue value: SQLValue) throws {
        let text = try String(sqlValue: value)
        guard let known = Self(rawValue: text) else {
            throw StoreError(.typeMismatch, "\(Self.self) has no value \"\(text.prefix(40))\"")
        }
        self = known
    }
}

extension Severity: SQLTextEnum {}
