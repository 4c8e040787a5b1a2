/// What the suite's modules refuse or fail at. Messages say what was wrong and what to do; none holds a
/// cache value, a feature value or artifact bytes. The HTTP layer answers each kind with one status.
public struct SuiteError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// Bad parameters: 400.
        case invalid
        /// No such model, version, alias, feature set or entry: 404.
        case notFound
        /// The state does not allow it (an alias on a retired version, a label that does not rise): 409.
        case conflict
        /// A key, value or artifact over its limit: 413.
        case tooLarge
        /// Stored bytes that do not match their digest: 409 (nothing is served; restore the blob from backup).
        case integrity
        /// The artifact folder cannot be written or read: 503.
        case storage
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
