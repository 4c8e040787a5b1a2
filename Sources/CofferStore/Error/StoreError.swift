/// An error from the SQL layer, with a matchable code and a message that never holds a bind value or a password.
///
/// ```swift
/// do { try conn.execute("INSERT ...") } catch StoreError.Code.uniqueViolation { ... }
/// ```
public struct StoreError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// What kind of failure this is. A struct over a private enum so that cases can be added later.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case invalidConfiguration, cannotOpen, connectionFailed, connectionLost, busy, serializationFailure
            case uniqueViolation, foreignKeyViolation, notNullViolation, checkViolation, readOnly
            case sqlError, typeMismatch, noSuchColumn, migration, closed
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// A database URL, path or option that cannot be used.
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// The SQLite file or its folder cannot be opened or created.
        public static let cannotOpen = Code(.cannotOpen)
        /// The PostgreSQL server could not be reached or refused the login.
        public static let connectionFailed = Code(.connectionFailed)
        /// An established connection broke.
        public static let connectionLost = Code(.connectionLost)
        /// The database is locked by another writer (SQLITE_BUSY); safe to retry the transaction.
        public static let busy = Code(.busy)
        /// A serialization failure or deadlock (SQLSTATE 40001, 40P01); safe to retry the transaction.
        public static let serializationFailure = Code(.serializationFailure)
        public static let uniqueViolation = Code(.uniqueViolation)
        public static let foreignKeyViolation = Code(.foreignKeyViolation)
        public static let notNullViolation = Code(.notNullViolation)
        public static let checkViolation = Code(.checkViolation)
        /// The database refused a write because it is read-only.
        public static let readOnly = Code(.readOnly)
        /// Any other error the database reported.
        public static let sqlError = Code(.sqlError)
        /// A column held another kind of value than the one asked for.
        public static let typeMismatch = Code(.typeMismatch)
        public static let noSuchColumn = Code(.noSuchColumn)
        /// A migration could not be loaded, verified or applied.
        public static let migration = Code(.migration)
        /// The database was closed.
        public static let closed = Code(.closed)

        public var description: String { base.rawValue }

        /// Lets callers write `catch StoreError.Code.busy`.
        public static func ~= (code: Code, error: any Error) -> Bool {
            (error as? StoreError)?.code == code
        }

        /// True for failures after which rerunning the whole transaction is safe.
        public var isTransient: Bool { self == .busy || self == .serializationFailure }
    }

    public let code: Code
    /// What went wrong and, where it helps, what to do. Never holds a bind value or a password.
    public let message: String
    /// Backend detail (SQLSTATE, SQLite extended code), for debugging.
    public let detail: String?
    public let file: String
    public let line: Int

    public init(code: Code, message: String, detail: String? = nil, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.detail = detail
        self.file = file
        self.line = line
    }

    public var description: String { message }

    public var debugDescription: String {
        "StoreError(code: \(code), message: \(message)\(detail.map { ", detail: \($0)" } ?? ""), at: \(file):\(line))"
    }

    @usableFromInline
    static func typeMismatch(expected: String, found: SQLValue) -> StoreError {
        StoreError(code: .typeMismatch, message: "expected \(expected), found \(found.kindName)")
    }
}
