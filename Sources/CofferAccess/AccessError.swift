public import CofferFoundation

/// A request the Gate or one of its stores refuses. Messages say what was wrong and what to do; none holds a
/// token, a secret or a value from a request body.
public typealias AccessError = CodedError<AccessErrorCode>

/// The codes of ``AccessError``; each maps to one HTTP status.
public struct AccessErrorCode: ErrorCode {
    public let description: String
    private init(_ description: String) { self.description = description }

    /// No token, an unknown, expired, revoked or used-up token, or a policy that does not allow the
    /// operation. HTTP 403 with Vault's "permission denied" (never 401: Vault clients treat 401 differently).
    public static let permissionDenied = Self("permissionDenied")
    /// Bad parameters: HTTP 400.
    public static let invalidRequest = Self("invalidRequest")
    /// Something named in the request does not exist, said in the message: HTTP 404 with that message.
    public static let notFound = Self("notFound")
    /// A secret, version, connection or value that does not exist, or is deleted, expired or not visible:
    /// Vault's bare 404 with an empty `errors` list, which clients (hvac among them) read as "nothing there"
    /// rather than as a failure. The message names what was missing, for logs and tests only.
    public static let missing = Self("missing")
    /// The audit entry could not be made durable in time: HTTP 503, and the result is withheld.
    public static let auditUnavailable = Self("auditUnavailable")
    /// Too many failed logins: HTTP 429.
    public static let rateLimited = Self("rateLimited")
    /// The data's file system is under its free-space floor: changes are refused so reads go on (``StorageFloor``).
    public static let storageLow = Self("storageLow")
    /// The state changed under the operation (a secret written during its rotation, a rotation already
    /// running): HTTP 409; nothing was changed.
    public static let conflict = Self("conflict")
    /// A KV request of one version against an engine of the other: a version 2 route on a version 1 engine
    /// names a version 1 secret (`kv1/data/x` is the secret `data/x`), and a version 1 request on a version 2
    /// engine names nothing. HTTP 400 where the route does not serve the other version's path instead.
    public static let otherEngineVersion = Self("otherEngineVersion")
}

extension CodedError where Code == AccessErrorCode {
    /// The secret (or other item) at `what` does not exist or is not visible; see ``AccessErrorCode/missing``.
    public static func missing(_ what: String, file: String = #fileID, line: Int = #line) -> AccessError {
        AccessError(.missing, "nothing at \(what)", file: file, line: line)
    }

    /// The KV engine at `mount` is of `version`, not the one the request's path is for.
    public static func otherEngineVersion(mount: String, version: Int, file: String = #fileID, line: Int = #line) -> AccessError {
        AccessError(
            .otherEngineVersion, "\(mount)/ is a KV version \(version) engine; use its version \(version) paths", file: file, line: line)
    }

    /// Vault's words for every token or policy refusal; clients match on them.
    public static func permissionDenied(file: String = #fileID, line: Int = #line) -> AccessError {
        AccessError(.permissionDenied, "permission denied", file: file, line: line)
    }
}
