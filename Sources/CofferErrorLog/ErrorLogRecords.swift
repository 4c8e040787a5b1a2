import CofferFoundation
public import CofferStore
import Foundation

// The error log's rows: one record per table, its columns named once and read by position.

extension IssueStatus: SQLTextEnum {}

extension ErrorIssue: SQLRowDecodable {
    /// The columns of `error_issues`.
    enum Column: String, SQLColumn {
        case id, fingerprint, component, errorType = "error_type", title, severity, status, regressed
        case resolvedInRelease = "resolved_in_release", resolvedBy = "resolved_by", resolvedAt = "resolved_at"
        case resolutionNote = "resolution_note", ignoredUntil = "ignored_until", ignoredUntilCount = "ignored_until_count"
        case count = "event_count", firstSeen = "first_seen", lastSeen = "last_seen", lastRelease = "last_release"
    }

    public init(row: SQLRow) throws {
        // Through the memberwise initializer: its optional fields are wrapped (`@EncodesNull`), and a wrapped
        // field can only be initialised in the file that declares it.
        self.init(
            id: try row.decode(Column.id), fingerprint: try row.decode(Column.fingerprint), component: try row.decode(Column.component),
            errorType: try row.decode(Column.errorType), title: try row.decode(Column.title), severity: try row.decode(Column.severity),
            status: try row.decode(Column.status), regressed: try row.decode(Column.regressed),
            resolvedInRelease: try row.decode(Column.resolvedInRelease), resolvedBy: try row.decode(Column.resolvedBy),
            resolvedAt: try row.decode(Column.resolvedAt), resolutionNote: try row.decode(Column.resolutionNote),
            ignoredUntil: try row.decode(Column.ignoredUntil), ignoredUntilCount: try row.decode(Column.ignoredUntilCount),
            count: try row.decode(Column.count), firstSeen: try row.decode(Column.firstSeen), lastSeen: try row.decode(Column.lastSeen),
            lastRelease: try row.decode(Column.lastRelease))
    }
}

extension StoredErrorEvent: SQLRowDecodable {
    /// The columns of `error_logs`.
    enum Column: String, SQLColumn {
        case id, issueID = "issue_id", component, severity, message, errorType = "error_type", stackTrace = "stack_trace", context
        case release, host, occurredAt = "occurred_at", receivedAt = "received_at", sourceID = "source_id"
    }

    public init(row: SQLRow) throws {
        id = try row.decode(Column.id)
        issueID = try row.decode(Column.issueID)
        var event = ErrorEvent(
            component: try row.decode(Column.component), severity: try row.decode(Column.severity), message: try row.decode(Column.message))
        event.errorType = try row.decode(Column.errorType)
        event.stackTrace = try row.decode(Column.stackTrace)
        event.context = try JSONText.decode([String: JSONValue].self, try row.decode(Column.context))
        event.release = try row.decode(Column.release)
        event.host = try row.decode(Column.host)
        event.occurredAt = try row.decode(Column.occurredAt)
        event.sourceID = try row.decode(Column.sourceID)
        self.event = event
        receivedAt = try row.decode(Column.receivedAt)
    }
}

extension IssueChange: SQLRowDecodable {
    /// The columns of `error_issue_history` that make a change (not its id or issue).
    enum Column: String, SQLColumn {
        case action, fromStatus = "from_status", toStatus = "to_status", release, note, accessor, at
    }

    public init(row: SQLRow) throws {
        self.init(
            action: try row.decode(Column.action), fromStatus: try row.decode(Column.fromStatus),
            toStatus: try row.decode(Column.toStatus), release: try row.decode(Column.release), note: try row.decode(Column.note),
            accessor: try row.decode(Column.accessor), at: try row.decode(Column.at))
    }
}

/// A row of the trends query (``ErrorLog/trends(_:since:daily:)``): one bucket's count for a component and severity.
extension ErrorTrend: SQLRowDecodable {
    /// The trends query's select list, in order (aggregates, so aliases rather than a table's columns).
    enum Column: String, SQLColumn { case bucket, component, severity, count = "n" }

    public init(row: SQLRow) throws {
        self.init(
            bucket: Date(timeIntervalSince1970: Double(try row.decode(Column.bucket, as: Int64.self))),
            component: try row.decode(Column.component), severity: try row.decode(Column.severity), count: try row.decode(Column.count))
    }
}
