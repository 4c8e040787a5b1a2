/// The set of codes one module's errors carry (``CodedError``'s `Code`): a small closed vocabulary a caller matches
/// on, e.g. `catch AccessError.Code.conflict`, and the HTTP layer maps to a status in one place.
///
/// A code set is a struct of static values rather than an enum: in a `catch` clause an enum case would be read as
/// an enum-case pattern against the error itself and never match; a value is matched through ``~=(_:_:)``.
public protocol ErrorCode: Hashable, Sendable, CustomStringConvertible {}

extension ErrorCode {
    /// Lets callers write `catch StoreError.Code.busy { … }`: true when `error` is a ``CodedError`` with this code.
    public static func ~= (code: Self, error: any Error) -> Bool {
        (error as? CodedError<Self>)?.code == code
    }
}

/// The one shape of Coffer's errors, in the style of swift-nio's `IOError` and postgres-nio's `PSQLError`: a
/// matchable code from its module's set, a message that is safe to show a client and to log, an optional error
/// it was caused by, and the place it was thrown.
///
/// Each module names its own (`AccessError`, `CryptoError`, `KeysError`, `StoreError`, `SuiteError`) as this type
/// over its own codes, so the shape, the matching and the debug output are written once.
///
/// - Important: `message` and `detail` never hold a secret, a key, a token, a bind value or a password. The
///   `underlying` error is for debugging (``debugDescription``); it is never sent to a client, since a library's
///   error may quote its input.
public struct CodedError<C: ErrorCode>: Error, CustomStringConvertible, CustomDebugStringConvertible {
    /// This error's code set, named so that callers can write `catch StoreError.Code.busy`.
    public typealias Code = C

    /// What kind of failure this is; the HTTP status follows from it.
    public let code: Code
    /// What went wrong and, where it helps, what to do. Safe to show: it is what a client reads.
    public let message: String
    /// Backend detail (an SQLSTATE, an SQLite extended code), for operators reading logs.
    public let detail: String?
    /// The error this one was made from, when there was one.
    public let underlying: (any Error)?
    /// Where the error was made (`#fileID` and `#line`).
    public let file: String
    public let line: Int

    public init(
        _ code: Code, _ message: String, detail: String? = nil, underlying: (any Error)? = nil,
        file: String = #fileID, line: Int = #line
    ) {
        self.code = code
        self.message = message
        self.detail = detail
        self.underlying = underlying
        self.file = file
        self.line = line
    }

    public var description: String { message }

    public var debugDescription: String {
        var text = "\(Code.self)(\(code), \"\(message)\""
        if let detail { text += ", detail: \(detail)" }
        if let underlying { text += ", underlying: \(String(reflecting: underlying))" }
        return text + ", at: \(file):\(line))"
    }
}
