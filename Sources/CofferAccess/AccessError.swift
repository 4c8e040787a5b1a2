/// A request the Gate or one of its stores refuses. Messages say what was wrong and what to do; none
/// holds a token, a secret or a value from a request body.
public struct AccessError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case permissionDenied, invalidRequest, notFound, auditUnavailable, rateLimited, conflict
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// No token, an unknown, expired, revoked or used-up token, or a policy that does not allow the
        /// operation. HTTP 403 with Vault's "permission denied" (never 401: Vault clients treat 401 differently).
        public static let permissionDenied = Code(.permissionDenied)
        /// Bad parameters: HTTP 400.
        public static let invalidRequest = Code(.invalidRequest)
        /// HTTP 404.
        public static let notFound = Code(.notFound)
        /// The audit entry could not be made durable in time: HTTP 503, and the result is withheld.
        public static let auditUnavailable = Code(.auditUnavailable)
        /// Too many failed logins: HTTP 429.
        public static let rateLimited = Code(.rateLimited)
        /// The state changed under the operation (a secret written during its rotation, a rotation already
        /// running): HTTP 409; nothing was changed.
        public static let conflict = Code(.conflict)

        public var description: String { base.rawValue }

        public static func ~= (code: Code, error: any Error) -> Bool {
            (error as? AccessError)?.code == code
        }
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    /// The thing asked for does not exist, or is deleted, expired or not visible: Vault's bare 404 with an empty
    /// `errors` list, which clients (hvac among them) read as "nothing there" rather than as a failure.
    public static let missing = AccessError(.notFound, "")

    /// Vault's words for every token or policy refusal; clients match on them.
    public static let permissionDenied = AccessError(.permissionDenied, "permission denied")
}
