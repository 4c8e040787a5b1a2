public import CofferAccess
public import CofferFoundation
public import CofferStore
public import Foundation

/// One component's line of the health overview (the `health_overview` view).
public struct HealthOverviewRow: Sendable, Equatable, Encodable {
    public let component: String
    public let checks: Int64
    public let critical: Int64
    public let warning: Int64
    public let maintenance: Int64
    public let flapping: Int64
    public let neverRun: Int64
    @EncodesNull public internal(set) var lastChecked: Date?
    public let openIssues: Int64

    enum CodingKeys: String, CodingKey {
        case component, checks, critical, warning, maintenance, flapping, neverRun = "never_run", lastChecked = "last_checked"
        case openIssues = "open_issues"
    }
}

extension HealthMonitor {
    /// The seed's health overview, one row per component, read from the `health_overview` view (migration 0013).
    public func overview(_ grant: Grant) async throws -> [HealthOverviewRow] {
        try await database.read { conn in
            try conn.query(
                HealthOverviewRow.self, "SELECT \(columns: HealthOverviewRow.Column.self) FROM health_overview ORDER BY component")
        }
    }
}

extension HealthOverviewRow: SQLRowDecodable {
    /// The columns of the `health_overview` view.
    enum Column: String, SQLColumn {
        case component, checks, critical, warning, maintenance, flapping, neverRun = "never_run", lastChecked = "last_checked"
        case openIssues = "open_issues"
    }

    public init(row: SQLRow) throws {
        // Through the memberwise initializer: `lastChecked` is wrapped (`@EncodesNull`), and a wrapped field
        // can only be initialised in the file that declares it.
        self.init(
            component: try row.decode(Column.component), checks: try row.decode(Column.checks), critical: try row.decode(Column.critical),
            warning: try row.decode(Column.warning), maintenance: try row.decode(Column.maintenance),
            flapping: try row.decode(Column.flapping), neverRun: try row.decode(Column.neverRun),
            lastChecked: try row.decode(Column.lastChecked), openIssues: try row.decode(Column.openIssues))
    }
}
