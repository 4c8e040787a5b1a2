public import CofferFoundation

/// An error from the SQL layer, with a matchable code and a message that never holds a bind value or a password.
///
/// ```swift
/// do { try conn.execute("INSERT ...") } catch StoreError.Code.uniqueViolation { ... }
/// ```
public typealias StoreError = CodedError<StoreErrorCode>

/// The codes of ``StoreError``.
public struct StoreErrorCode: ErrorCode {
    public let description: String
    private init(_ description: String) { self.description = description }

    /// A database URL, path or option that cannot be used.
    public static let invalidConfiguration = Self("invalidConfiguration")
    /// The SQLite file or its folder cannot be opened or created.
    public static let cannotOpen = Self("cannotOpen")
    /// The PostgreSQL server could not be reached or refused the login.
    public static let connectionFailed = Self("connectionFailed")
    /// An established connection broke.
    public static let connectionLost = Self("connectionLost")
    /// The database is locked by another writer (SQLITE_BUSY); safe to retry the transaction.
    public static let busy = Self("busy")
    /// A serialization failure or deadlock (SQLSTATE 40001, 40P01); safe to retry the transaction.
    public static let serializationFailure = Self("serializationFailure")
    public static let uniqueViolation = Self("uniqueViolation")
    public static let foreignKeyViolation = Self("foreignKeyViolation")
    public static let notNullViolation = Self("notNullViolation")
    public static let checkViolation = Self("checkViolation")
    /// The database refused a write because it is read-only.
    public static let readOnly = Self("readOnly")
    /// Any other error the database reported.
    public static let sqlError = Self("sqlError")
    /// A text value no backend can hold the same way: it contains a NUL character (PostgreSQL's text refuses it,
    /// SQLite's C string functions would cut it). Refused on both before the statement runs; the HTTP layer
    /// answers 400.
    public static let unstorableText = Self("unstorableText")
    /// A column held another kind of value than the one asked for.
    public static let typeMismatch = Self("typeMismatch")
    public static let noSuchColumn = Self("noSuchColumn")
    /// A migration could not be loaded, verified or applied.
    public static let migration = Self("migration")
    /// The database was closed.
    public static let closed = Self("closed")

    /// True for failures after which rerunning the whole transaction is safe.
    public var isTransient: Bool { self == .busy || self == .serializationFailure }

    /// True for a failure of the database rather than of the statement (it cannot be reached, is locked or
    /// closed): the HTTP layer answers 503, the cache falls back to memory.
    public var isUnavailable: Bool { [.connectionFailed, .connectionLost, .busy, .closed].contains(self) }
}

extension CodedError where Code == StoreErrorCode {
    /// The error for a text bind holding a NUL character, the same on both backends.
    static let nulInText = StoreError(
        .unstorableText, "a value holds a NUL character (U+0000), which cannot be stored or searched for: remove it")

    @usableFromInline
    static func typeMismatch(expected: String, found: SQLValue) -> StoreError {
        StoreError(.typeMismatch, "expected \(expected), found \(found.kindName)")
    }
}
