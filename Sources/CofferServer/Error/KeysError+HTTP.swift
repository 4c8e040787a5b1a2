import CofferKeys
import Hummingbird

extension KeysError {
    /// Vault's statuses for seal and key errors: bad requests 400, sealed 503; stored key material that
    /// fails authentication is a server-side integrity failure (500, with the reason).
    var apiError: APIError {
        switch code {
        case .sealed: APIError(.serviceUnavailable, message)
        case .tampered, .unknownTerm: APIError(.internalServerError, message)
        default: APIError(.badRequest, message)
        }
    }
}
