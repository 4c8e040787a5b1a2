/// What a metric query computes per step (a metric query and an alert rule name one).
public enum MetricFunction: String, Sendable, Codable, CaseIterable {
    case avg, sum, min, max, count, rate, p50, p90, p99
}
