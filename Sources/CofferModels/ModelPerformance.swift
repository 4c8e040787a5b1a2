public import CofferAccess
import CofferFoundation
import CofferStore
import Foundation

/// One metric of one model version (the `model_performance` view).
public struct ModelPerformanceRow: Sendable, Equatable {
    public let name: String
    public let version: Int64
    public let versionLabel: String
    public let status: String
    public let scope: String
    public let metric: String
    public let value: Double
    public let champion: Bool
}

extension ModelRegistry {
    /// Rows of `model_performance`, optionally one model or one `scope.metric`, best value first.
    public func performance(_ grant: Grant, model: String? = nil, metric: String? = nil) async throws -> [ModelPerformanceRow] {
        var query: SQLQuery = "SELECT * FROM model_performance WHERE 1 = 1"
        if let model { query.append(" AND name = \(model)") }
        if let metric {
            let parts = metric.split(separator: ".", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw SuiteError(.invalid, "metric looks like validation.f1") }
            query.append(" AND scope = \(parts[0]) AND metric = \(parts[1])")
        }
        query.append(" ORDER BY name, scope, metric, value DESC, version DESC")
        let found = query
        return try await database.read { conn in
            try conn.query(found).map { row in
                ModelPerformanceRow(
                    name: try row.decode(String.self, column: "name"), version: try row.decode(Int64.self, column: "version"),
                    versionLabel: try row.decode(String.self, column: "version_label"),
                    status: try row.decode(String.self, column: "status"),
                    scope: try row.decode(String.self, column: "scope"), metric: try row.decode(String.self, column: "metric"),
                    value: try row.decode(Double.self, column: "value"), champion: try row.decode(Int64.self, column: "champion") == 1)
            }
        }
    }
}
