/// A SQL statement with its binds, built by string interpolation so that user values can only be binds.
///
/// Every interpolated value becomes a positional bind; raw SQL text must be spelled out with
/// `\(unsafeRaw:)`, which no code path may feed with user input.
///
/// ```swift
/// let rows = try conn.query("SELECT name FROM users WHERE id = \(id) AND state = \(state)")
/// ```
///
/// The text is rendered once, while interpolating, with `$1`, `$2`, … placeholders. PostgreSQL reads
/// them as positional parameters; SQLite reads them as named parameters numbered in order of first
/// appearance, which is the same order because each bind appears once, in sequence. So one text serves
/// both dialects and executing a query renders nothing. Literal SQL must therefore not contain `$`
/// followed by a digit (asserted in debug builds; such text is never needed outside dollar-quoted
/// bodies, which belong in migrations).
public struct SQLQuery: Sendable, ExpressibleByStringInterpolation, CustomStringConvertible, CustomDebugStringConvertible {
    /// The statement text with `$N` placeholders.
    public private(set) var sql: String
    /// The bind values, `$1` first.
    public private(set) var binds: [SQLValue]

    /// A statement made of trusted SQL text with no binds. Never pass user input here.
    public init(unsafeSQL sql: String) {
        Self.checkLiteral(sql)
        self.sql = sql
        self.binds = []
    }

    public init(stringLiteral value: String) {
        self.init(unsafeSQL: value)
    }

    public init(stringInterpolation: StringInterpolation) {
        sql = stringInterpolation.sql
        binds = stringInterpolation.binds
    }

    /// Appends another query, keeping its binds as binds (renumbered after this query's).
    public mutating func append(_ other: SQLQuery) {
        sql += Self.renumber(other.sql, by: binds.count)
        binds.append(contentsOf: other.binds)
    }

    /// The SQL with placeholders, never the bind values: safe to log.
    public var description: String { sql }

    public var debugDescription: String { "SQLQuery(\(sql), \(binds.count) binds)" }

    public struct StringInterpolation: StringInterpolationProtocol, Sendable {
        var sql: String
        var binds: [SQLValue]

        public init(literalCapacity: Int, interpolationCount: Int) {
            sql = ""
            sql.reserveCapacity(literalCapacity + interpolationCount * 3)
            binds = []
            binds.reserveCapacity(interpolationCount)
        }

        public mutating func appendLiteral(_ literal: String) {
            SQLQuery.checkLiteral(literal)
            sql += literal
        }

        /// Any bindable value becomes a bind, never text.
        public mutating func appendInterpolation(_ value: some SQLBindable) {
            bind(value.sqlValue)
        }

        /// An optional value binds as itself or as NULL.
        public mutating func appendInterpolation<Value: SQLBindable>(_ value: Value?) {
            bind(value?.sqlValue ?? .null)
        }

        /// A nested query keeps its own binds.
        public mutating func appendInterpolation(_ query: SQLQuery) {
            sql += SQLQuery.renumber(query.sql, by: binds.count)
            binds.append(contentsOf: query.binds)
        }

        /// Trusted SQL text (an identifier or keyword chosen by code, never by a user).
        public mutating func appendInterpolation(unsafeRaw text: String) {
            appendLiteral(text)
        }

        private mutating func bind(_ value: SQLValue) {
            binds.append(value)
            sql += binds.count < SQLQuery.placeholders.count ? SQLQuery.placeholders[binds.count] : "$\(binds.count)"
        }
    }

    /// `$0`…`$63`, formatted once: building a query is on the path of every statement.
    static let placeholders: [String] = (0..<64).map { "$\($0)" }

    /// Shifts every `$N` placeholder of `text` by `offset`. Safe because literal text never holds `$<digit>`.
    static func renumber(_ text: String, by offset: Int) -> String {
        guard offset > 0 else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + 8)
        var digits = ""
        var inPlaceholder = false
        for character in text {
            if inPlaceholder, let digit = character.wholeNumberValue, character.isASCII {
                digits.append(String(digit))
                continue
            }
            if inPlaceholder {
                if !digits.isEmpty { out += String((Int(digits) ?? 0) + offset) }
                digits = ""
                inPlaceholder = false
            }
            if character == "$" {
                out.append("$")
                inPlaceholder = true
            } else {
                out.append(character)
            }
        }
        if inPlaceholder { out += digits.isEmpty ? "" : String((Int(digits) ?? 0) + offset) }
        return out
    }

    /// Checked in debug builds (every test run): SQL text is fixed in code, so a test that runs a
    /// statement checks it once and for all, and release builds keep the per-statement cost off.
    static func checkLiteral(_ text: String) {
        assert(!containsPlaceholder(text), "SQL text must not contain $ followed by a digit: placeholders are reserved for binds")
    }

    static func containsPlaceholder(_ text: String) -> Bool {
        var afterDollar = false
        for byte in text.utf8 {
            if afterDollar && (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) { return true }
            afterDollar = byte == UInt8(ascii: "$")
        }
        return false
    }
}
