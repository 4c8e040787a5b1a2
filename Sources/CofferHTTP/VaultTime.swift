import CofferStore
public import Foundation

/// Times and durations in the forms Vault's answers use.
public enum VaultTime {
    /// RFC 3339 with fractional seconds in UTC (`2026-11-25T18:00:00.123456Z`), Go's `RFC3339Nano` shape.
    /// Computed directly (``CivilTime``), not through Calendar: it is on every read's path.
    public static func format(_ date: Date) -> String {
        let time = CivilTime(microsecondsSinceEpoch: date.microsecondsSinceEpoch)
        var out = [UInt8]()
        out.reserveCapacity(27)
        func digits(_ value: Int64, _ count: Int) {
            var divisor: Int64 = 1
            for _ in 1..<count { divisor *= 10 }
            while divisor > 0 {
                out.append(UInt8(ascii: "0") + UInt8(value / divisor % 10))
                divisor /= 10
            }
        }
        digits(time.year, 4)
        out.append(UInt8(ascii: "-"))
        digits(time.month, 2)
        out.append(UInt8(ascii: "-"))
        digits(time.day, 2)
        out.append(UInt8(ascii: "T"))
        digits(time.hour, 2)
        out.append(UInt8(ascii: ":"))
        digits(time.minute, 2)
        out.append(UInt8(ascii: ":"))
        digits(time.second, 2)
        out.append(UInt8(ascii: "."))
        digits(time.microsecond, 6)
        out.append(UInt8(ascii: "Z"))
        return String(decoding: out, as: UTF8.self)
    }

    /// `""` for no time, as Vault writes an unset `deletion_time`.
    public static func format(_ date: Date?) -> String {
        date.map { format($0) } ?? ""
    }

    /// Go's duration text: `0s`, `45s`, `30m0s`, `1h0m0s`.
    public static func duration(_ seconds: Int64) -> String {
        if seconds == 0 { return "0s" }
        let hours = seconds / 3600, minutes = seconds % 3600 / 60, rest = seconds % 60
        if hours > 0 { return "\(hours)h\(minutes)m\(rest)s" }
        if minutes > 0 { return "\(minutes)m\(rest)s" }
        return "\(rest)s"
    }

    /// Whole seconds left until `date`, as a `ttl` field gives them (0 once it has passed).
    public static func seconds(until date: Date) -> Int64 { max(0, Int64(date.timeIntervalSinceNow.rounded())) }

    /// Whole seconds from `start` to `end`: a lease's TTL as granted (Vault answers the TTL it set, not what is
    /// left by the time the answer is written).
    public static func seconds(from start: Date, to end: Date) -> Int64 { max(0, Int64(end.timeIntervalSince(start).rounded())) }

    /// Parses an RFC 3339 time (with or without fractional seconds).
    public static func parse(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }
}
