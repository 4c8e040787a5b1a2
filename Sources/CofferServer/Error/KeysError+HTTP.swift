import CofferAccess
import CofferKeys
import Hummingbird

extension KeysError {
    /// Vault's statuses for seal and key errors: bad requests 400, sealed 503; stored key material that
    /// fails authentication is a server-side integrity failure (500, with the reason).
    var apiError: APIError {
        switch code {
        case .sealed: APIError(.serviceUnavailable, message)
        case .busy: APIError(.serviceUnavailable, message, retryAfter: 1)
        case .tampered, .unknownTerm: APIError(.internalServerError, message)
        default: APIError(.badRequest, message)
        }
    }
}

extension AccessError {
    /// Vault's statuses: 403 for every token or policy refusal (never 401), 400 for bad input, 503 when the
    /// audit entry could not be committed in time.
    var apiError: APIError {
        switch code {
        case .permissionDenied: APIError(.forbidden, message)
        case .notFound: APIError(.notFound, message.isEmpty ? [] : [message])
        case .auditUnavailable: APIError(.serviceUnavailable, message)
        case .rateLimited: APIError(.tooManyRequests, message)
        case .conflict: APIError(.conflict, message)
        default: APIError(.badRequest, message)
        }
    }
}
