public import CofferFoundation
public import struct Foundation.Date

/// A value bound into, or read out of, a SQL statement: neutral across SQLite and PostgreSQL.
///
/// Timestamps have their own case so that each dialect stores them natively: PostgreSQL as
/// `TIMESTAMPTZ`, SQLite as `INTEGER` microseconds since the Unix epoch (UTC). Both keep
/// microsecond precision, so a `Date` round-trips to the microsecond.
public enum SQLValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case text(String)
    case blob([UInt8])
    case timestamp(Date)
}

extension Date {
    /// Whole microseconds since the Unix epoch: the precision both backends store.
    ///
    /// Inputs are held to ``Date/storableRange`` where they are read; a time that escaped that check (hundreds of
    /// thousands of years away) saturates here instead of trapping on the conversion, which would stop the process
    /// for every caller. PostgreSQL then refuses it as out of range (a typed error); SQLite stores the bound.
    public var microsecondsSinceEpoch: Int64 {
        let microseconds = (timeIntervalSince1970 * 1_000_000).rounded()
        if microseconds.isNaN { return 0 }
        if microseconds >= Double(Int64.max) { return .max }
        if microseconds <= Double(Int64.min) { return .min }
        return Int64(microseconds)
    }

    public init(microsecondsSinceEpoch: Int64) {
        self.init(timeIntervalSince1970: Double(microsecondsSinceEpoch) / 1_000_000)
    }

    /// This time as the database gives it back: rounded to the microsecond.
    public var roundedToStoredPrecision: Date {
        Date(microsecondsSinceEpoch: microsecondsSinceEpoch)
    }
}

extension SQLValue {
    /// Whole microseconds since the Unix epoch, the shared precision of both backends.
    static func microseconds(of date: Date) -> Int64 {
        date.microsecondsSinceEpoch
    }

    @usableFromInline
    static func date(microseconds: Int64) -> Date {
        Date(microsecondsSinceEpoch: microseconds)
    }

    /// A short name of the case, for error messages that must not show the value itself.
    var kindName: String {
        switch self {
        case .null: "NULL"
        case .bool: "boolean"
        case .int: "integer"
        case .double: "double"
        case .text: "text"
        case .blob: "blob"
        case .timestamp: "timestamp"
        }
    }
}

/// A Swift type that can be bound as a SQL parameter.
public protocol SQLBindable: Sendable {
    /// The neutral value this instance binds as.
    var sqlValue: SQLValue { get }
}

/// A Swift type that can be read from a SQL result column.
public protocol SQLDecodable: Sendable {
    /// Reads `value`, or throws ``StoreError`` with code `.typeMismatch` when the column holds another kind.
    init(sqlValue value: SQLValue) throws
}

extension SQLValue: SQLBindable, SQLDecodable {
    @inlinable public var sqlValue: SQLValue { self }
    @inlinable public init(sqlValue value: SQLValue) { self = value }
}

extension Optional: SQLBindable where Wrapped: SQLBindable {
    @inlinable public var sqlValue: SQLValue { self?.sqlValue ?? .null }
}

extension Optional: SQLDecodable where Wrapped: SQLDecodable {
    @inlinable public init(sqlValue value: SQLValue) throws {
        if case .null = value { self = .none } else { self = try Wrapped(sqlValue: value) }
    }
}

extension String: SQLBindable, SQLDecodable {
    @inlinable public var sqlValue: SQLValue { .text(self) }
    @inlinable public init(sqlValue value: SQLValue) throws {
        guard case .text(let text) = value else { throw StoreError.typeMismatch(expected: "text", found: value) }
        self = text
    }
}

extension Int64: SQLBindable, SQLDecodable {
    @inlinable public var sqlValue: SQLValue { .int(self) }
    @inlinable public init(sqlValue value: SQLValue) throws {
        switch value {
        case .int(let int): self = int
        case .bool(let bool): self = bool ? 1 : 0
        default: throw StoreError.typeMismatch(expected: "integer", found: value)
        }
    }
}

extension Int: SQLBindable, SQLDecodable {
    @inlinable public var sqlValue: SQLValue { .int(Int64(self)) }
    @inlinable public init(sqlValue value: SQLValue) throws {
        self = Int(try Int64(sqlValue: value))
    }
}

extension Int32: SQLBindable, SQLDecodable {
    @inlinable public var sqlValue: SQLValue { .int(Int64(self)) }
    @inlinable public init(sqlValue value: SQLValue) throws {
        let wide = try Int64(sqlValue: value)
        guard let narrow = Int32(exactly: wide) else {
            throw StoreError(.typeMismatch, "integer column value does not fit in Int32")
        }
        self = narrow
    }
}

extension Double: SQLBindable, SQLDecodable {
    @inlinable public var sqlValue: SQLValue { .double(self) }
    @inlinable public init(sqlValue value: SQLValue) throws {
        switch value {
        case .double(let double): self = double
        case .int(let int): self = Double(int)
        default: throw StoreError.typeMismatch(expected: "double", found: value)
        }
    }
}

extension Bool: SQLBindable, SQLDecodable {
    @inlinable public var sqlValue: SQLValue { .bool(self) }
    @inlinable public init(sqlValue value: SQLValue) throws {
        switch value {
        case .bool(let bool): self = bool
        case .int(let int): self = int != 0
        default: throw StoreError.typeMismatch(expected: "boolean", found: value)
        }
    }
}

extension Array: SQLBindable where Element == UInt8 {
    @inlinable public var sqlValue: SQLValue { .blob(self) }
}

extension Array: SQLDecodable where Element == UInt8 {
    @inlinable public init(sqlValue value: SQLValue) throws {
        guard case .blob(let bytes) = value else { throw StoreError.typeMismatch(expected: "blob", found: value) }
        self = bytes
    }
}

extension Date: SQLBindable, SQLDecodable {
    @inlinable public var sqlValue: SQLValue { .timestamp(self) }
    /// Reads a PostgreSQL `TIMESTAMPTZ` or a SQLite `INTEGER` of microseconds since the epoch.
    @inlinable public init(sqlValue value: SQLValue) throws {
        switch value {
        case .timestamp(let date): self = date
        case .int(let micros): self = SQLValue.date(microseconds: micros)
        default: throw StoreError.typeMismatch(expected: "timestamp", found: value)
        }
    }
}
