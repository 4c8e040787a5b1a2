public import CofferStore
public import Foundation

// The alert engine's rows as its readers see them: one record per table, columns named once.

/// A rule's group that is firing now (`alert_state`), encoded as `coffer/health/alerts` lists it.
public struct FiringAlert: Sendable, Equatable, Encodable {
    public let rule: String
    public let group: String
    public let since: Date
}

/// One transition of a rule's group and how its notice was delivered (`alert_history`).
public struct AlertTransition: Sendable, Equatable, Encodable {
    public let rule: String
    public let group: String
    /// firing, resolved, or repeat (still firing).
    public let state: String
    public let summary: String
    /// What happened at each sink (or `silenced`).
    public let delivery: String
    public let at: Date

    enum CodingKeys: String, CodingKey { case rule, group, state, summary, delivery, at = "time" }
}

extension FiringAlert: SQLRowDecodable {
    /// The columns of `alert_state` a firing alert reads.
    enum Column: String, SQLColumn { case rule, group = "group_key", since }

    public init(row: SQLRow) throws {
        rule = try row.decode(Column.rule)
        group = try row.decode(Column.group)
        since = try row.decode(Column.since)
    }
}

extension AlertTransition: SQLRowDecodable {
    /// The columns of `alert_history`.
    enum Column: String, SQLColumn { case rule, group = "group_key", state, summary, delivery, at }

    public init(row: SQLRow) throws {
        rule = try row.decode(Column.rule)
        group = try row.decode(Column.group)
        state = try row.decode(Column.state)
        summary = try row.decode(Column.summary)
        delivery = try row.decode(Column.delivery)
        at = try row.decode(Column.at)
    }
}
