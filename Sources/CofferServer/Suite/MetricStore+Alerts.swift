public import CofferAccess
public import CofferFoundation
import CofferHTTP
public import CofferHealth
public import CofferMetrics
import CofferSystem
public import Foundation

/// The metric store answers the alert engine's threshold rules: composition, here, so neither module imports
/// the other.
extension MetricStore: AlertMetricSource {
    public func lastValues(
        _ grant: Grant, name: String, from: Date, to: Date, step: Int64, function: MetricFunction,
        groupBy: [String], match: [String: String]
    ) async throws -> [(labels: [String: String], value: Double)] {
        let results: [MetricSeriesResult]
        do {
            results = try await query(
                grant, MetricQuery(name: name, from: from, to: to, step: step, function: function, groupBy: groupBy, match: match))
        } catch SuiteError.Code.notFound {
            return []
        }
        return results.compactMap { result in result.points.last.map { (result.labels, $0.1) } }
    }
}
