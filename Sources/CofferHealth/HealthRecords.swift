import CofferStore
import Foundation

// The health monitor's and alert engine's rows as their writers compare and their readers show them: one record per
// table or query, its columns named once and read by position.

/// A definition kept as code (`health_checks`, `alert_rules`): its name and its JSON text.
struct DefinitionRecord: SQLRowDecodable {
    let name: String
    let definition: String

    /// The columns both tables share.
    enum Column: String, SQLColumn { case name, definition }

    init(row: SQLRow) throws {
        name = try row.decode(Column.name)
        definition = try row.decode(Column.definition)
    }

    /// Every definition in `table` by name, for comparing with what a file applies.
    static func all(in table: String, on conn: any SQLConnection) throws -> [String: String] {
        let rows = try conn.query(Self.self, "SELECT \(columns: Column.self) FROM \(unsafeRaw: table)")
        return Dictionary(rows.map { ($0.name, $0.definition) }, uniquingKeysWith: { first, _ in first })
    }
}

/// A `health_state` row: a check's settled status and the counts that move it.
struct HealthStateRecord: SQLRowDecodable {
    let checkName: String
    /// As stored; each reader decides what an unknown status means.
    let status: String
    let failures: Int64
    let successes: Int64
    let flapping: Bool
    let changedAt: Date
    let checkedAt: Date

    /// The columns of `health_state`.
    enum Column: String, SQLColumn {
        case checkName = "check_name", status, failures, successes, flapping, changedAt = "changed_at", checkedAt = "checked_at"
    }

    init(row: SQLRow) throws {
        checkName = try row.decode(Column.checkName)
        status = try row.decode(Column.status)
        failures = try row.decode(Column.failures)
        successes = try row.decode(Column.successes)
        flapping = try row.decode(Column.flapping)
        changedAt = try row.decode(Column.changedAt)
        checkedAt = try row.decode(Column.checkedAt)
    }
}

/// A `system_health` row as the status page shows a check's latest probe.
struct LatestProbeRecord: SQLRowDecodable {
    let checkName: String
    let latencyMs: Double
    let details: String

    /// The columns of `system_health` read for it.
    enum Column: String, SQLColumn { case checkName = "check_name", latencyMs = "latency_ms", details }

    init(row: SQLRow) throws {
        checkName = try row.decode(Column.checkName)
        latencyMs = try row.decode(Column.latencyMs)
        details = try row.decode(Column.details)
    }
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
struct MaintenanceWindowRecord: SQLRowDecodable {
    let startsAt: Date
    let endsAt: Date
    let component: String

    /// The columns of `health_maintenance` read for a history.
    enum Column: String, SQLColumn { case startsAt = "starts_at", endsAt = "ends_at", component }

    init(row: SQLRow) throws {
        startsAt = try row.decode(Column.startsAt)
        endsAt = try row.decode(Column.endsAt)
        component = try row.decode(Column.component)
    }
}

/// An `alert_state` row as settling a rule reads it: a group's state and when it was last notified.
struct AlertGroupStateRecord: SQLRowDecodable {
    let group: String
    let state: String
    let lastNotified: Date?

    enum Column: String, SQLColumn { case group = "group_key", state, lastNotified = "last_notified" }

    init(row: SQLRow) throws {
        group = try row.decode(Column.group)
        state = try row.decode(Column.state)
        lastNotified = try row.decode(Column.lastNotified)
    }
}

/// A row of an error-burst rule's query: a component and how many events it logged in the window.
struct ComponentCountRecord: SQLRowDecodable {
    let component: String
    let count: Int64

    /// The query's select list (an aggregate under `n`).
    enum Column: String, SQLColumn { case component, count = "n" }

    init(row: SQLRow) throws {
        component = try row.decode(Column.component)
        count = try row.decode(Column.count)
    }
}
