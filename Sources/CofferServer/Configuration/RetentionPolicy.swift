import Foundation

/// How long the tables that grow with time keep their rows (`retention`, e.g. `health=32d,errors=90d`); the
/// retention pruner deletes what is older. `0` keeps a table's rows forever. The audit trail is never deleted:
/// its entries past their retention are moved into sealed segment files (`audit_archive_dir`), and its rows go
/// only once their segment is written and signed.
public struct RetentionPolicy: Sendable, Equatable {
    /// Health check results (`system_health`). At least 31 days when set: availability is reported over 30.
    public var healthResults: Int64
    /// Error events (`error_logs`); issues keep their counts.
    public var errorEvents: Int64
    /// Alert transitions and repeats (`alert_history`).
    public var alertHistory: Int64
    /// Finished rotation runs (`rotation_runs`); unfinished ones are kept.
    public var rotationRuns: Int64
    /// Audit entries in `audit_log` before they are archived.
    public var auditTrail: Int64

    /// The defaults: 32 days of health results, 90 of error events, 180 of alert history, 365 of rotation runs,
    /// 365 of audit entries in the database (then in the archive).
    public static let defaults = RetentionPolicy(
        healthResults: 32 * 86_400, errorEvents: 90 * 86_400, alertHistory: 180 * 86_400, rotationRuns: 365 * 86_400,
        auditTrail: 365 * 86_400)

    public init(healthResults: Int64, errorEvents: Int64, alertHistory: Int64, rotationRuns: Int64, auditTrail: Int64) {
        self.healthResults = healthResults
        self.errorEvents = errorEvents
        self.alertHistory = alertHistory
        self.rotationRuns = rotationRuns
        self.auditTrail = auditTrail
    }

    /// The setting's names, in the order they are printed.
    static let names = ["health", "errors", "alerts", "rotation_runs", "audit"]

    /// Reads `name=duration` pairs separated by commas (`s`, `m`, `h` or `d`; `0` keeps forever) over the
    /// defaults; a table not named keeps its default.
    /// - Throws: ``ConfigurationError`` naming the pair that is wrong and the form to use.
    public init(parsing text: String) throws {
        self = .defaults
        for pair in text.split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, let seconds = Self.seconds(parts[1]) else {
                throw ConfigurationError(
                    "retention takes name=duration pairs such as health=32d,errors=90d (s, m, h or d; 0 keeps forever), not \"\(pair)\"")
            }
            switch parts[0] {
            case "health":
                guard seconds == 0 || seconds >= 31 * 86_400 else {
                    throw ConfigurationError("retention health must be at least 31d (availability is reported over 30 days) or 0")
                }
                healthResults = seconds
            case "errors": errorEvents = seconds
            case "alerts": alertHistory = seconds
            case "rotation_runs": rotationRuns = seconds
            case "audit": auditTrail = seconds
            default:
                throw ConfigurationError(
                    "retention has no table \"\(parts[0])\": name one of \(Self.names.joined(separator: ", "))")
            }
        }
    }

    /// `N` followed by `s`, `m`, `h` or `d`, or `0`; nil otherwise.
    static func seconds(_ text: String) -> Int64? {
        if text == "0" { return 0 }
        guard let unit = text.last, let value = Int64(text.dropLast()), value > 0, value < 100_000 else { return nil }
        switch unit {
        case "s": return value
        case "m": return value * 60
        case "h": return value * 3600
        case "d": return value * 86_400
        default: return nil
        }
    }

    /// As written in the start-up summary: `health=32d,errors=90d,…`.
    public var description: String {
        let values: [Int64] = [healthResults, errorEvents, alertHistory, rotationRuns, auditTrail]
        var pairs: [String] = []
        for (name, seconds) in zip(Self.names, values) {
            let text: String
            if seconds == 0 {
                text = "0"
            } else if seconds % 86_400 == 0 {
                text = "\(seconds / 86_400)d"
            } else {
                text = "\(seconds)s"
            }
            pairs.append("\(name)=\(text)")
        }
        return pairs.joined(separator: ",")
    }
}
