public import CofferAccess
import CofferStore
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

extension HealthMonitor {
    /// The seed's health overview, one row per component, read from the `health_overview` view (migration 0013).
    public func overview(_ grant: Grant) async throws -> [HealthOverviewRow] {
        try await database.read { conn in
            try conn.query("SELECT * FROM health_overview ORDER BY component").map { row in
                HealthOverviewRow(
                    component: try row.decode(String.self, column: "component"), checks: try row.decode(Int64.self, column: "checks"),
                    critical: try row.decode(Int64.self, column: "critical"), warning: try row.decode(Int64.self, column: "warning"),
                    maintenance: try row.decode(Int64.self, column: "maintenance"),
                    flapping: try row.decode(Int64.self, column: "flapping"),
                    neverRun: try row.decode(Int64.self, column: "never_run"),
                    lastChecked: try row.decode(Date?.self, column: "last_checked"),
                    openIssues: try row.decode(Int64.self, column: "open_issues"))
            }
        }
    }
}
