public import CofferAccess
import CofferFoundation
import CofferStore
import Foundation

/// One metric of one model version (the `model_performance` view).
public struct ModelPerformanceRow: Sendable, Equatable, Encodable {
    public let name: String
    public let version: Int64
    public let versionLabel: String
    public let status: String
    /// `scope.metric`: `validation.f1`, as a search's filter names it.
    public let metric: String
    public let value: Double
    public let champion: Bool

    enum CodingKeys: String, CodingKey { case name, version, versionLabel = "version_label", status, metric, value, champion }
}

extension ModelRegistry {
    /// Rows of `model_performance`, optionally one model or one `scope.metric`, best value first.
    public func performance(_ grant: Grant, model: String? = nil, metric: String? = nil) async throws -> [ModelPerformanceRow] {
        var query: SQLQuery = "SELECT \(columns: ModelPerformanceRow.Column.self) FROM model_performance WHERE 1 = 1"
        if let model { query.append(" AND name = \(model)") }
        if let metric {
            let parts = metric.split(separator: ".", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw SuiteError(.invalid, "metric looks like validation.f1") }
            query.append(" AND scope = \(parts[0]) AND metric = \(parts[1])")
        }
        query.append(" ORDER BY name, scope, metric, value DESC, version DESC")
        let found = query
        return try await database.read { conn in
            try conn.query(ModelPerformanceRow.self, found)
        }
    }
}
