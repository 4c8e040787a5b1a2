/// How bad an event is, in order: error events carry one, alert rules filter by one.
public enum Severity: String, Sendable, Codable, CaseIterable, Comparable {
    case debug, info, warning, error, critical

    private var rank: Int { Self.allCases.firstIndex(of: self) ?? 0 }
    public static func < (lhs: Severity, rhs: Severity) -> Bool { lhs.rank < rhs.rank }

    /// Python's and common loggers' names too (`WARN`, `FATAL`, `ERR`).
    public init?(loose text: String) {
        switch text.lowercased() {
        case "debug", "trace": self = .debug
        case "info", "notice": self = .info
        case "warning", "warn": self = .warning
        case "error", "err": self = .error
        case "critical", "fatal", "crit", "emergency", "alert": self = .critical
        default: return nil
        }
    }
}
