import CofferFoundation
public import Foundation
import HTTPTypes

/// Times in the suite's answers and parameters: RFC 3339 (as Vault writes them) or Unix seconds.
public enum SuiteTime {
    public static func parse(_ text: String, field: String) throws -> Date {
        let date: Date
        if let seconds = Double(text), seconds.isFinite {
            date = Date(timeIntervalSince1970: seconds)
        } else if let parsed = VaultTime.parse(text) {
            date = parsed
        } else {
            throw APIError(.badRequest, "\(field) must be an RFC 3339 time such as 2026-01-31T12:00:00Z, or Unix seconds")
        }
        guard date.isStorable else {
            throw APIError(
                .badRequest, "\(field) must be a time between the years 1 and 9999 (Unix seconds from -62135769600 to 253402300799)")
        }
        return date
    }
}

/// A time in a request body as RFC 3339 text or Unix seconds (read with ``SuiteTime/parse(_:field:)``).
public struct TimeValue: Decodable {
    public let text: String

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let seconds = try? container.decode(Double.self) { text = String(seconds) } else { text = try container.decode(String.self) }
    }
}
