/// A SQL statement with its binds, built by string interpolation so that user values can only be binds.
///
/// Every interpolated value becomes a positional bind; raw SQL text must be spelled out with
/// `\(unsafeRaw:)`, which no code path may feed with user input.
///
/// ```swift
/// let rows = try conn.query("SELECT name FROM users WHERE id = \(id) AND state = \(state)")
/// ```
public struct SQLQuery: Sendable, ExpressibleByStringInterpolation, CustomStringConvertible, CustomDebugStringConvertible {
    enum Fragment: Sendable {
        case sql(String)
        case bind(SQLValue)
    }

    var fragments: [Fragment]

    /// A statement made of trusted SQL text with no binds. Never pass user input here.
    public init(unsafeSQL sql: String) {
        fragments = [.sql(sql)]
    }

    public init(stringLiteral value: String) {
        fragments = [.sql(value)]
    }

    public init(stringInterpolation: StringInterpolation) {
        fragments = stringInterpolation.fragments
    }

    /// Appends another query, keeping its binds as binds.
    public mutating func append(_ other: SQLQuery) {
        fragments.append(contentsOf: other.fragments)
    }

    /// The SQL text for `dialect`, with numbered placeholders, and the binds in order.
    public func render(for dialect: SQLDialect) -> (sql: String, binds: [SQLValue]) {
        if fragments.count == 1, case .sql(let text) = fragments[0] { return (text, []) }
        var sql = ""
        var binds: [SQLValue] = []
        for fragment in fragments {
            switch fragment {
            case .sql(let text): sql += text
            case .bind(let value):
                sql += dialect.placeholder(binds.count)
                binds.append(value)
            }
        }
        return (sql, binds)
    }

    /// The SQL with binds masked as `****`: safe to log.
    public var description: String {
        fragments.map { fragment in
            switch fragment {
            case .sql(let text): text
            case .bind: "****"
            }
        }.joined()
    }

    public var debugDescription: String { "SQLQuery(\(description))" }

    public struct StringInterpolation: StringInterpolationProtocol, Sendable {
        var fragments: [Fragment] = []

        public init(literalCapacity: Int, interpolationCount: Int) {
            fragments.reserveCapacity(interpolationCount * 2 + 1)
        }

        public mutating func appendLiteral(_ literal: String) {
            guard !literal.isEmpty else { return }
            fragments.append(.sql(literal))
        }

        /// Any bindable value becomes a bind, never text.
        public mutating func appendInterpolation(_ value: some SQLBindable) {
            fragments.append(.bind(value.sqlValue))
        }

        /// An optional value binds as itself or as NULL.
        public mutating func appendInterpolation<Value: SQLBindable>(_ value: Value?) {
            fragments.append(.bind(value?.sqlValue ?? .null))
        }

        /// A nested query keeps its own binds.
        public mutating func appendInterpolation(_ query: SQLQuery) {
            fragments.append(contentsOf: query.fragments)
        }

        /// Trusted SQL text (an identifier or keyword chosen by code, never by a user).
        public mutating func appendInterpolation(unsafeRaw text: String) {
            fragments.append(.sql(text))
        }
    }
}
