import CofferStore
import Foundation

/// Times and durations in the forms Vault's answers use.
enum VaultTime {
    /// RFC 3339 with fractional seconds in UTC (`2026-11-25T18:00:00.123456Z`), Go's `RFC3339Nano` shape.
    static func format(_ date: Date) -> String {
        let micros = date.microsecondsSinceEpoch
        let seconds = micros >= 0 ? micros / 1_000_000 : (micros - 999_999) / 1_000_000
        let fraction = micros - seconds * 1_000_000
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: Date(timeIntervalSince1970: Double(seconds)))
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0,
                      parts.hour ?? 0, parts.minute ?? 0, parts.second ?? 0, Int(fraction))
    }

    /// `""` for no time, as Vault writes an unset `deletion_time`.
    static func format(_ date: Date?) -> String {
        date.map { format($0) } ?? ""
    }

    /// Go's duration text: `0s`, `45s`, `30m0s`, `1h0m0s`.
    static func duration(_ seconds: Int64) -> String {
        if seconds == 0 { return "0s" }
        let hours = seconds / 3600, minutes = seconds % 3600 / 60, rest = seconds % 60
        if hours > 0 { return "\(hours)h\(minutes)m\(rest)s" }
        if minutes > 0 { return "\(minutes)m\(rest)s" }
        return "\(rest)s"
    }

    /// Parses an RFC 3339 time (with or without fractional seconds).
    static func parse(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }
}
