public import CofferFoundation
public import Foundation

/// One point of a metric.
public struct MetricPoint: Sendable, Equatable {
    public let name: String
    /// A small set; stored sorted, so `{a, b}` and `{b, a}` are one series.
    public let labels: [String: String]
    public let value: Double
    /// Default: when ingested.
    public let timestamp: Date?

    public init(name: String, labels: [String: String] = [:], value: Double, timestamp: Date? = nil) {
        self.name = name
        self.labels = labels
        self.value = value
        self.timestamp = timestamp
    }
}

/// A range query: `function` of `name`'s series matching `match`, per `step`, grouped by the labels in `groupBy`.
public struct MetricQuery: Sendable, Equatable {
    public var name: String
    public var from: Date
    public var to: Date
    public var step: Int64
    public var function: MetricFunction
    public var groupBy: [String]
    public var match: [String: String]

    public init(
        name: String, from: Date, to: Date, step: Int64, function: MetricFunction, groupBy: [String] = [], match: [String: String] = [:]
    ) {
        self.name = name
        self.from = from
        self.to = to
        self.step = step
        self.function = function
        self.groupBy = groupBy
        self.match = match
    }
}

/// One group's values, one per step that had data.
public struct MetricSeriesResult: Sendable, Equatable, Encodable {
    public let labels: [String: String]
    public let points: [(Date, Double)]
    /// Where the values came from: `raw`, `1m` or `1h` rollups.
    public let source: String

    private enum CodingKeys: String, CodingKey { case labels, source, values }

    /// Points as Prometheus's range queries give them: `[[unix_seconds, value], …]`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(labels, forKey: .labels)
        try container.encode(source, forKey: .source)
        try container.encode(points.map { [$0.0.timeIntervalSince1970, $0.1] }, forKey: .values)
    }

    public static func == (lhs: MetricSeriesResult, rhs: MetricSeriesResult) -> Bool {
        lhs.labels == rhs.labels && lhs.source == rhs.source && lhs.points.map(\.0) == rhs.points.map(\.0)
            && lhs.points.map(\.1) == rhs.points.map(\.1)
    }
}

/// One stored series: a metric and one set of its labels.
public struct MetricSeries: Sendable, Equatable, Encodable {
    public let name: String
    public let labels: [String: String]
}

/// How long a metric's raw points and rollups are kept (seconds; 0: forever).
public struct MetricRetention: Sendable, Equatable, Encodable {
    public var raw: Int64
    public var minute: Int64
    public var hour: Int64
    /// Distinct label sets the metric may have; a new series past it is refused.
    public var maxSeries: Int64

    enum CodingKeys: String, CodingKey { case raw, minute, hour, maxSeries = "max_series" }

    public static let `default` = MetricRetention(raw: 7 * 86_400, minute: 30 * 86_400, hour: 400 * 86_400, maxSeries: 1_000)

    public init(raw: Int64, minute: Int64, hour: Int64, maxSeries: Int64) {
        self.raw = raw
        self.minute = minute
        self.hour = hour
        self.maxSeries = maxSeries
    }
}
