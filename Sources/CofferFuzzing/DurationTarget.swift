import CofferHTTP
import Foundation

/// Durations (`ttl`, `period`, `max_ttl`: Vault's `"1h30m"` or seconds) and times (RFC 3339 or Unix seconds).
enum DurationTarget {
    static let target = FuzzTarget(
        "duration",
        "durations and times as request fields: read or refused with a 400; a duration is never negative, and a "
            + "whole number of seconds reads as itself"
    ) { input throws(FuzzFinding) in
        let text = input.text
        if let seconds = try? Duration.seconds(of: DurationValue(text), field: "ttl") {
            try require(seconds >= 0, "\(text) read as \(seconds) seconds")
            if let whole = Int64(text.trimmingCharacters(in: .whitespaces)), whole >= 0 {
                try require(seconds == whole, "\(text) read as \(seconds) seconds")
            }
        }
        _ = VaultTime.parse(text)
        if let date = try? SuiteTime.parse(text, field: "since") {
            try require(date.timeIntervalSince1970.isFinite, "\(text) read as a time that is not finite")
        }
    }
}
