import CofferAccess
import CofferFoundation
import CofferKeys
import CofferStore
import HTTPTypes
public import Hummingbird
import Logging
import NIOCore

extension APIError {
    /// The one mapping of Coffer's errors to Vault's statuses and messages: the error middleware answers with
    /// it, the Gate records its status in the audit entry. Every module's ``CodedError`` is mapped here by its
    /// code, and nothing else decides a status; anything unforeseen is a 500 that says nothing of its cause.
    public static func answering(_ error: any Error, request: Request, context: some RequestContext) -> APIError {
        switch error {
        case let error as APIError:
            return error
        case let error as AccessError:
            return answering(error)
        case let error as KeysError:
            return answering(error)
        case let error as SuiteError:
            return answering(error)
        case let error as StoreError where error.code == .unstorableText:
            return APIError(.badRequest, error.message)
        case let error as StoreError where error.code.isUnavailable:
            // A lost or refused connection (PostgreSQL down, or failing over to its standby): Retry-After says
            // the wait is short, and libpq's target_session_attrs finds the new primary on the next connection.
            context.logger.error("storage unavailable", metadata: ["coffer.store.code": "\(error.code)"])
            return APIError(.serviceUnavailable, "storage is unavailable; try again", retryAfter: 1)
        case let error as StoreError where error.code == .readOnly:
            context.logger.error("storage is read-only", metadata: ["coffer.store.code": "\(error.code)"])
            return APIError(
                .serviceUnavailable,
                "storage is read-only (a standby, or a primary being demoted); try again, or point the database URL at the primary",
                retryAfter: 1)
        case is NIOTooManyBytesError:
            return APIError(.contentTooLarge, "request body is larger than \(context.maxUploadSize) bytes")
        case let error as HTTPError:
            let message: [String] =
                switch error.status {
                case .notFound: [] // Vault answers an unknown path or missing item with an empty list
                case .methodNotAllowed: ["method \(request.method) is not supported on \(request.uri.path)"]
                case .contentTooLarge: ["request body is larger than \(context.maxUploadSize) bytes"]
                default: [error.body ?? error.status.reasonPhrase]
                }
            return APIError(error.status, message)
        default:
            context.logger.error("unhandled error", metadata: ["coffer.error.type": "\(type(of: error))"])
            return APIError(.internalServerError, "internal error")
        }
    }

    /// Vault's statuses: 403 for every token or policy refusal (never 401), 400 for bad input, 503 (with
    /// Retry-After) when the audit entry could not be committed in time or storage is low; a missing secret is
    /// Vault's bare 404 (`{"errors":[]}`).
    private static func answering(_ error: AccessError) -> APIError {
        switch error.code {
        case .permissionDenied: APIError(.forbidden, error.message)
        case .missing: APIError.missing
        case .notFound: APIError(.notFound, error.message)
        case .auditUnavailable: APIError(.serviceUnavailable, error.message, retryAfter: 1)
        // Space comes back when an operator frees it, not in a second.
        case .storageLow: APIError(.serviceUnavailable, error.message, retryAfter: 30)
        case .rateLimited: APIError(.tooManyRequests, error.message)
        case .conflict: APIError(.conflict, error.message)
        // Where a route does not answer it itself (the KV routes do, by serving the other version's path).
        case .otherEngineVersion: APIError(.badRequest, error.message)
        default: APIError(.badRequest, error.message) // invalidRequest
        }
    }

    /// Vault's statuses for seal and key errors: bad requests 400, sealed 503; stored key material that fails
    /// authentication is a server-side integrity failure (500, with the reason).
    private static func answering(_ error: KeysError) -> APIError {
        switch error.code {
        case .sealed: APIError(.serviceUnavailable, error.message)
        case .busy: APIError(.serviceUnavailable, error.message, retryAfter: 1)
        case .tampered, .unknownTerm: APIError(.internalServerError, error.message)
        default: APIError(.badRequest, error.message) // notInitialized, alreadyInitialized, invalidRequest, unsealFailed
        }
    }

    /// The suite's statuses: bad input 400, unknown 404, a state that refuses the change 409, over a limit 413,
    /// stored bytes that fail their digest 409 (nothing is served), an unusable artifact folder 503.
    private static func answering(_ error: SuiteError) -> APIError {
        switch error.code {
        case .notFound: APIError(.notFound, error.message)
        case .conflict, .integrity: APIError(.conflict, error.message)
        case .tooLarge: APIError(.contentTooLarge, error.message)
        case .storage: APIError(.serviceUnavailable, error.message)
        default: APIError(.badRequest, error.message) // invalid
        }
    }
}
