import CofferStore
import Foundation

// The health monitor's and alert engine's rows as their writers compare and their readers show them: one record per
// table or query, its columns named once and read by position.

/// A definition kept as code (`health_checks`, `alert_rules`): its name and its JSON text.
struct DefinitionRecord: SQLRecord {
    let name: String
    let definition: String

    /// The columns both tables share.
    enum Column: String, SQLColumn, CodingKey { case name, definition }
    typealias CodingKeys = Column

    /// Every definition in `table` by name, for comparing with what a file applies.
    static func all(in table: String, on conn: any SQLConnection) throws -> [String: String] {
        let rows = try conn.query(Self.self, "SELECT \(columns: Column.self) FROM \(unsafeRaw: table)")
        return Dictionary(rows.map { ($0.name, $0.definition) }, uniquingKeysWith: { first, _ in first })
    }
}

/// A `health_state` row: a check's settled status and the counts that move it.
struct HealthStateRecord: SQLRecord {
    let checkName: String
    /// As stored; each reader decides what an unknown status means.
    let status: String
    let failures: Int64
    let successes: Int64
    let flapping: Bool
    let changedAt: Date
    let checkedAt: Date

    /// The columns of `health_state`.
    enum Column: String, SQLColumn, CodingKey {
        case checkName = "check_name", status, failures, successes, flapping, changedAt = "changed_at", checkedAt = "checked_at"
    }
    typealias CodingKeys = Column
}

/// A `system_health` row as the status page shows a check's latest probe.
struct LatestProbeRecord: SQLRecord {
    let checkName: String
    let latencyMs: Double
    let details: String

    /// The columns of `system_health` read for it.
    enum Column: String, SQLColumn, CodingKey { case checkName = "check_name", latencyMs = "latency_ms", details }
    typealias CodingKeys = Column
}

/// A `system_health` row as a check's history reads it: when, and the status it settled to.
struct HealthResultRecord: SQLRowDecodable {
    let checkedAt: Date
    /// An unknown stored status counts as critical.
    let status: HealthStatus

    enum Column: String, SQLColumn { case checkedAt = "checked_at", status }

    init(row: SQLRow) throws {
        checkedAt = try row.decode(Column.checkedAt)
        status = HealthStatus(rawValue: try row.decode(Column.status)) ?? .critical
    }
}

/// A `health_maintenance` row: a window and the component it covers (`*` for all).
struct MaintenanceWindowRecord: SQLRecord {
    let startsAt: Date
    let endsAt: Date
    let component: String

    /// The columns of `health_maintenance` read for a history.
    enum Column: String, SQLColumn, CodingKey { case startsAt = "starts_at", endsAt = "ends_at", component }
    typealias CodingKeys = Column
}

/// An `alert_state` row as settling a rule reads it: a group's state and when it was last notified.
struct AlertGroupStateRecord: SQLRecord {
    let group: String
    let state: String
    let lastNotified: Date?

    enum Column: String, SQLColumn, CodingKey { case group = "group_key", state, lastNotified = "last_notified" }
    typealias CodingKeys = Column
}

/// A row of an error-burst rule's query: a component and how many events it logged in the window.
struct ComponentCountRecord: SQLRecord {
    let component: String
    let count: Int64

    /// The query's select list (an aggregate under `n`).
    enum Column: String, SQLColumn, CodingKey { case component, count = "n" }
    typealias CodingKeys = Column
}
