import CofferAccess
import CofferHTTP
import Foundation
import HTTPTypes

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
