public import CofferAccess
public import CofferFoundation
public import Foundation

/// Where a metric rule's values come from. The server hands in the metric store (CofferServer makes it
/// conform), so the health module reads metrics without importing its sibling.
public protocol AlertMetricSource: Sendable {
    /// For each series of `name` matching `match`, grouped by `groupBy`: the last value of `function` over
    /// `from`…`to` in steps of `step` seconds. Empty when no such metric is known.
    func lastValues(
        _ grant: Grant, name: String, from: Date, to: Date, step: Int64, function: MetricFunction,
        groupBy: [String], match: [String: String]
    ) async throws -> [(labels: [String: String], value: Double)]
}
