public import CofferFoundation
public import Foundation

/// An alert rule as written in the rules file (`{"rules": [...]}`): a condition, where to send it, and how
/// often to repeat it while it fires.
public struct AlertRule: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        /// `count` or more events at `severity` or worse within `window` seconds, per component.
        case errorBurst = "error_burst"
        /// `fn` of `metric` over the last `window` seconds compared with `value`, per label set in `group_by`.
        case metricThreshold = "metric_threshold"
        /// A health check in state `to` (default critical), per check.
        case healthTransition = "health_transition"
    }

    public struct Sink: Sendable, Equatable, Codable {
        public enum Kind: String, Sendable, Codable { case webhook, log }
        public var type: Kind
        /// `webhook`: an `http://` URL that gets a JSON POST.
        public var url: String?
        /// `webhook`: attempts before giving up (default 3), one second apart, doubling.
        public var attempts: Int?
    }

    public var name: String
    public var type: Kind
    public var component: String?
    public var severity: Severity?
    public var count: Int?
    public var window: Int?
    public var metric: String?
    public var fn: MetricFunction?
    public var op: Comparison?
    public var value: Double?
    public var match: [String: String]?
    public var groupBy: [String]?
    public var check: String?
    public var to: HealthStatus?
    public var sinks: [Sink]
    /// Seconds between repeated notifications while it fires (default 3600).
    public var repeatInterval: Int?

    enum CodingKeys: String, CodingKey {
        case name, type, component, severity, count, window, metric, fn, op, value, match, check, to, sinks
        case groupBy = "group_by", repeatInterval = "repeat_interval"
    }

    public var windowSeconds: Int { window ?? 300 }
    public var repeatSeconds: Int { repeatInterval ?? 3600 }

    /// - Throws: ``SuiteError`` `.invalid` naming the rule and the field.
    public func validate() throws {
        func bad(_ reason: String) -> SuiteError { SuiteError(.invalid, "alert rule \(name.isEmpty ? "(unnamed)" : name): \(reason)") }
        do { try Names.check(name, what: "name") } catch { throw bad("\(error)") }
        guard (1...30 * 86_400).contains(windowSeconds), (60...7 * 86_400).contains(repeatSeconds) else {
            throw bad("window must be 1 s to 30 days and repeat_interval 60 s to 7 days")
        }
        switch type {
        case .errorBurst:
            guard let count, count >= 1 else { throw bad("an error_burst rule needs count ≥ 1 (events within window)") }
        case .metricThreshold:
            guard let metric, PrometheusName.isMetric(metric), fn != nil, op != nil, let value, value.isFinite else {
                throw bad("a metric_threshold rule needs metric (a Prometheus name), fn, op (>, >=, <, <=, =) and a finite value")
            }
            for label in (groupBy ?? []) + (match ?? [:]).keys where !PrometheusName.isLabel(label) {
                throw bad("\(label) is not a label name")
            }
        case .healthTransition:
            if to == .maintenance { throw bad("to must be passing, warning or critical") }
        }
        guard !sinks.isEmpty else { throw bad("sinks is empty: add {\"type\": \"log\"} or a webhook") }
        for sink in sinks where sink.type == .webhook {
            guard let url = sink.url, let parsed = URL(string: url), parsed.scheme == "http", parsed.host != nil else {
                throw bad("a webhook sink needs url: http://HOST[:PORT]/PATH")
            }
            guard (1...10).contains(sink.attempts ?? 3) else { throw bad("attempts must be 1 to 10") }
        }
    }
}

/// The rules file: `{"rules": [ … ]}`.
public struct AlertRulesFile: Sendable, Codable {
    public let rules: [AlertRule]

    /// - Throws: ``SuiteError`` `.invalid` naming the rule or the JSON problem.
    public static func parse(_ data: Data) throws -> [AlertRule] {
        let file = try JSONText.decodeFile(AlertRulesFile.self, data, what: "rules file")
        var seen = Set<String>()
        for rule in file.rules {
            try rule.validate()
            guard seen.insert(rule.name).inserted else { throw SuiteError(.invalid, "the rules file names \(rule.name) twice") }
        }
        return file.rules
    }
}

/// A notification as sinks receive it (the webhook's JSON body).
public struct AlertNotice: Sendable, Equatable, Codable {
    public let rule: String
    public let group: String
    /// firing, resolved, or repeat (still firing).
    public let state: String
    public let summary: String
    public let at: Date
}
