import CofferFoundation
import Hummingbird

extension SuiteError {
    /// The suite's statuses: bad input 400, unknown 404, a state that refuses the change 409, over a limit 413,
    /// stored bytes that fail their digest 409 (nothing is served), an unusable artifact folder 503.
    var apiError: APIError {
        switch kind {
        case .invalid: APIError(.badRequest, message)
        case .notFound: APIError(.notFound, message)
        case .conflict, .integrity: APIError(.conflict, message)
        case .tooLarge: APIError(.contentTooLarge, message)
        case .storage: APIError(.serviceUnavailable, message)
        }
    }
}

/// Times in the suite's answers and parameters: RFC 3339 (as Vault writes them) or Unix seconds.
enum SuiteTime {
    static func parse(_ text: String, field: String) throws -> Date {
        if let seconds = Double(text), seconds.isFinite { return Date(timeIntervalSince1970: seconds) }
        guard let date = VaultTime.parse(text) else {
            throw APIError(.badRequest, "\(field) must be an RFC 3339 time such as 2026-01-31T12:00:00Z, or Unix seconds")
        }
        return date
    }
}

import Foundation
