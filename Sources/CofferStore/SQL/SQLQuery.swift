/// A SQL statement with its binds, built by string interpolation so that user values can only be binds.
///
/// Every interpolated value becomes a positional bind; raw SQL text must be spelled out with
/// `\(unsafeRaw:)`, which no code path may feed with user input.
///
/// ```swift
/// let rows = try conn.query("SELECT name FROM users WHERE id = \(id) AND state = \(state)")
/// ```
///
/// A query keeps the SQL text between its binds (`segments`, one more than the binds) rather than a
/// rendered string: for string literals those segments are the program's own immortal strings, so
/// building a query copies no text, and a connection recognises a statement it has prepared by
/// comparing segments, which for the same call site are identical storage. The text is rendered only
/// when a statement is first prepared, with `$1`, `$2`, … placeholders: PostgreSQL reads them as
/// positional parameters, SQLite as named parameters numbered in order of first appearance, which is
/// the same order because each bind appears once, in sequence. Literal SQL must therefore not contain
/// `$` followed by a digit (asserted in debug builds; such text is never needed outside dollar-quoted
/// bodies, which belong in migrations).
public struct SQLQuery: Sendable, ExpressibleByStringInterpolation, CustomStringConvertible, CustomDebugStringConvertible {
    /// The SQL text before, between and after the binds: `segments.count == binds.count + 1`.
    public internal(set) var segments: [String]
    /// The bind values, `$1` first.
    public internal(set) var binds: [SQLValue]

    /// A statement made of trusted SQL text with no binds. Never pass user input here.
    public init(unsafeSQL sql: String) {
        Self.checkLiteral(sql)
        segments = [sql]
        binds = []
    }

    public init(stringLiteral value: String) {
        self.init(unsafeSQL: value)
    }

    @inlinable
    public init(stringInterpolation: StringInterpolation) {
        self.init(segments: stringInterpolation.segments, binds: stringInterpolation.binds)
    }

    @usableFromInline
    init(segments: [String], binds: [SQLValue]) {
        self.segments = segments
        self.binds = binds
    }

    /// The statement text with `$N` placeholders, the same for both dialects.
    public var sql: String {
        guard segments.count > 1 else { return segments[0] }
        var text = segments[0]
        for index in 1..<segments.count {
            text += index < Self.placeholders.count ? Self.placeholders[index] : "$\(index)"
            text += segments[index]
        }
        return text
    }

    /// Appends another query, keeping its binds as binds.
    public mutating func append(_ other: SQLQuery) {
        Self.join(&segments, &binds, other)
    }

    /// The SQL with placeholders, never the bind values: safe to log.
    public var description: String { sql }

    public var debugDescription: String { "SQLQuery(\(sql), \(binds.count) binds)" }

    // The interpolation is @inlinable so that building a query specialises in the caller's module:
    // across the module boundary every append would otherwise be an unspecialised generic call.
    public struct StringInterpolation: StringInterpolationProtocol, Sendable {
        @usableFromInline var segments: [String]
        @usableFromInline var binds: [SQLValue]

        @inlinable
        public init(literalCapacity: Int, interpolationCount: Int) {
            segments = [""]
            segments.reserveCapacity(interpolationCount + 1)
            binds = []
            binds.reserveCapacity(interpolationCount)
        }

        @inlinable
        public mutating func appendLiteral(_ literal: String) {
            SQLQuery.checkLiteral(literal)
            SQLQuery.appendText(literal, to: &segments)
        }

        /// Any bindable value becomes a bind, never text.
        @inlinable
        public mutating func appendInterpolation(_ value: some SQLBindable) {
            binds.append(value.sqlValue)
            segments.append("")
        }

        /// An optional value binds as itself or as NULL.
        @inlinable
        public mutating func appendInterpolation<Value: SQLBindable>(_ value: Value?) {
            binds.append(value?.sqlValue ?? .null)
            segments.append("")
        }

        /// A nested query keeps its own binds.
        @inlinable
        public mutating func appendInterpolation(_ query: SQLQuery) {
            SQLQuery.join(&segments, &binds, query)
        }

        /// Trusted SQL text (an identifier or keyword chosen by code, never by a user).
        @inlinable
        public mutating func appendInterpolation(unsafeRaw text: String) {
            appendLiteral(text)
        }
    }

    /// Appends text to the last segment; into an empty segment it is taken as it is, so a literal keeps
    /// its immortal storage and nothing is copied.
    @inlinable
    static func appendText(_ text: String, to segments: inout [String]) {
        let last = segments.count - 1
        if segments[last].isEmpty { segments[last] = text } else if !text.isEmpty { segments[last] += text }
    }

    @inlinable
    static func join(_ segments: inout [String], _ binds: inout [SQLValue], _ other: SQLQuery) {
        appendText(other.segments[0], to: &segments)
        segments.append(contentsOf: other.segments.dropFirst())
        binds.append(contentsOf: other.binds)
    }

    /// `$0`…`$63`, formatted once: building a query is on the path of every statement.
    static let placeholders: [String] = (0..<64).map { "$\($0)" }

    /// Checked in debug builds (every test run): SQL text is fixed in code, so a test that runs a
    /// statement checks it once and for all, and release builds keep the per-statement cost off.
    @inlinable
    static func checkLiteral(_ text: String) {
        assert(!containsPlaceholder(text), "SQL text must not contain $ followed by a digit: placeholders are reserved for binds")
    }

    @usableFromInline
    static func containsPlaceholder(_ text: String) -> Bool {
        var afterDollar = false
        for byte in text.utf8 {
            if afterDollar && (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) { return true }
            afterDollar = byte == UInt8(ascii: "$")
        }
        return false
    }
}

extension SQLQuery {
    /// `$1, $2, …` binding `values`, for an `IN (…)` list.
    public static func list(_ values: [String]) -> SQLQuery {
        var query: SQLQuery = ""
        for (index, value) in values.enumerated() {
            if index > 0 { query.append(", ") }
            query.append("\(value)")
        }
        return query
    }
}
