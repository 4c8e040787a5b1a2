/// What the suite's modules refuse or fail at. Messages say what was wrong and what to do; none holds a
/// cache value, a feature value or artifact bytes. The HTTP layer answers each code with one status.
public typealias SuiteError = CodedError<SuiteErrorCode>

/// The codes of ``SuiteError``.
public struct SuiteErrorCode: ErrorCode {
    public let description: String
    private init(_ description: String) { self.description = description }

    /// Bad parameters: 400.
    public static let invalid = Self("invalid")
    /// No such model, version, alias, feature set or entry: 404.
    public static let notFound = Self("notFound")
    /// The state does not allow it (an alias on a retired version, a label that does not rise): 409.
    public static let conflict = Self("conflict")
    /// A key, value or artifact over its limit: 413.
    public static let tooLarge = Self("tooLarge")
    /// Stored bytes that do not match their digest: 409 (nothing is served; restore the blob from backup).
    public static let integrity = Self("integrity")
    /// The artifact folder cannot be written or read: 503.
    public static let storage = Self("storage")
}
