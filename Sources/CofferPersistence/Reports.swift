public import CofferAccess
public import CofferStore
public import Foundation

/// One component's line of the health overview (the `health_overview` view).
public struct HealthOverviewRow: Sendable, Equatable {
    public let component: String
    public let checks: Int64
    public let critical: Int64
    public let warning: Int64
    public let maintenance: Int64
    public let flapping: Int64
    public let neverRun: Int64
    public let lastChecked: Date?
    public let openIssues: Int64
}

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

/// The seed's monitoring dashboard queries, read from their named views (migration 0013) through the Gate.
public struct Reports: Sendable {
    let database: any Database

    public init(database: any Database) {
        self.database = database
    }

    public func healthOverview(_ grant: Grant) async throws -> [HealthOverviewRow] {
        try await database.read { conn in
            try conn.query("SELECT * FROM health_overview ORDER BY component").map { row in
                HealthOverviewRow(component: try row.decode(String.self, column: "component"), checks: try row.decode(Int64.self, column: "checks"),
                                  critical: try row.decode(Int64.self, column: "critical"), warning: try row.decode(Int64.self, column: "warning"),
                                  maintenance: try row.decode(Int64.self, column: "maintenance"), flapping: try row.decode(Int64.self, column: "flapping"),
                                  neverRun: try row.decode(Int64.self, column: "never_run"), lastChecked: try row.decode(Date?.self, column: "last_checked"),
                                  openIssues: try row.decode(Int64.self, column: "open_issues"))
            }
        }
    }

    /// Rows of `model_performance`, optionally one model or one `scope.metric`, best value first.
    public func modelPerformance(_ grant: Grant, model: String? = nil, metric: String? = nil) async throws -> [ModelPerformanceRow] {
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
                ModelPerformanceRow(name: try row.decode(String.self, column: "name"), version: try row.decode(Int64.self, column: "version"),
                                    versionLabel: try row.decode(String.self, column: "version_label"), status: try row.decode(String.self, column: "status"),
                                    scope: try row.decode(String.self, column: "scope"), metric: try row.decode(String.self, column: "metric"),
                                    value: try row.decode(Double.self, column: "value"), champion: try row.decode(Int64.self, column: "champion") == 1)
            }
        }
    }
}
