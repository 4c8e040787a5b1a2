public import CofferAccess
import CofferFoundation
public import CofferStore
public import Foundation

/// Error logs (`error_logs`): events grouped into issues by fingerprint, with Sentry's workflow —
/// unresolved → resolved (optionally "in release X") or ignored (until N more events or a time); an event
/// after "resolved in X" from a release at or after X marks the issue regressed, one from an older release
/// does not. Every status change is kept with who made it. Trends per component and severity, top issues.
public final class ErrorLog: Sendable {
    let database: any Database
    /// Events one call may carry.
    public static let maxBatch = 1_000

    public init(database: any Database) {
        self.database = database
    }

    // MARK: logging

    /// Stores events in one transaction: all of them or, when one is malformed, none.
    /// - Throws: ``SuiteError`` `.invalid` naming the first bad event by its index.
    public func log(_ grant: Grant, _ events: [ErrorEvent]) async throws -> [LoggedError] {
        guard !events.isEmpty, events.count <= Self.maxBatch else {
            throw SuiteError(.invalid, "a batch carries 1 to \(Self.maxBatch) events")
        }
        let now = WallClock.now.roundedToStoredPrecision
        for (index, event) in events.enumerated() { try Self.validate(event, index: index, now: now) }
        let accessor = grant.accessor
        return try await database.transaction { conn in try Self.store(events, on: conn, now: now, accessor: accessor) }
    }

    static func validate(_ event: ErrorEvent, index: Int, now: Date) throws {
        func bad(_ reason: String) -> SuiteError { SuiteError(.invalid, "events[\(index)]: \(reason); nothing was stored") }
        guard !event.component.isEmpty, event.component.utf8.count <= 128 else { throw bad("component must be 1 to 128 bytes") }
        guard !event.message.isEmpty, event.message.utf8.count <= 65_536 else { throw bad("message must be 1 to 65536 bytes") }
        guard event.errorType.utf8.count <= 256 else { throw bad("error_type is longer than 256 bytes") }
        guard event.stackTrace.utf8.count <= 262_144 else { throw bad("stack_trace is longer than 256 KiB") }
        guard event.host.utf8.count <= 256, (event.release?.utf8.count ?? 0) <= 128 else {
            throw bad("host or release is too long (256, 128 bytes)")
        }
        if let occurred = event.occurredAt, occurred.timeIntervalSince(now) > 300 { throw bad("time is in the future") }
        if let sourceID = event.sourceID, sourceID.isEmpty || sourceID.utf8.count > 128 { throw bad("source_id must be 1 to 128 bytes") }
    }

    /// An issue's state while a batch is applied to it, written back once.
    private struct IssueState {
        var id: Int64
        var status: IssueStatus
        var regressed: Bool
        var severity: Severity
        var count: Int64
        var lastSeen: Date
        var lastRelease: String?
        let resolvedInRelease: String?
        var ignoredUntil: Date?
        var ignoredUntilCount: Int64?
    }

    /// Stores a batch: events are grouped by fingerprint, each issue read and written once, the events
    /// inserted in one batched statement (a pipeline on PostgreSQL).
    private static func store(_ events: [ErrorEvent], on conn: any SQLConnection, now: Date, accessor: String) throws -> [LoggedError] {
        var results = [LoggedError?](repeating: nil, count: events.count)
        var groups: [String: [Int]] = [:]
        var order: [String] = []
        // An import's source id seen earlier in the same batch: a duplicate of that event.
        var firstWithSource: [String: Int] = [:]
        var repeats: [(Int, Int)] = []
        for (index, event) in events.enumerated() {
            if let sourceID = event.sourceID {
                if let first = firstWithSource[sourceID] {
                    repeats.append((index, first))
                    continue
                }
                firstWithSource[sourceID] = index
                if let existing = try conn.queryScalar(Int64.self, "SELECT issue_id FROM error_logs WHERE source_id = \(sourceID)") {
                    results[index] = LoggedError(issueID: existing, newIssue: false, regressed: false, duplicate: true)
                    continue
                }
            }
            let fingerprint = Fingerprint.of(event)
            if groups[fingerprint] == nil { order.append(fingerprint) }
            groups[fingerprint, default: []].append(index)
        }
        var rows: [[SQLValue]] = []
        for fingerprint in order {
            let members = groups[fingerprint] ?? []
            let first = events[members[0]]
            var state: IssueState
            var created = false
            if let issue = try conn.query(
                ErrorIssue.self, "SELECT \(columns: ErrorIssue.Column.self) FROM error_issues WHERE fingerprint = \(fingerprint)"
            ).first {
                state = IssueState(
                    id: issue.id, status: issue.status, regressed: issue.regressed, severity: issue.severity, count: issue.count,
                    lastSeen: issue.lastSeen, lastRelease: issue.lastRelease, resolvedInRelease: issue.resolvedInRelease,
                    ignoredUntil: issue.ignoredUntil, ignoredUntilCount: issue.ignoredUntilCount)
            } else {
                let occurred = (first.occurredAt ?? now).roundedToStoredPrecision
                guard
                    let id = try conn.queryScalar(
                        Int64.self,
                        """
                        INSERT INTO error_issues (fingerprint, component, error_type, title, severity, status, regressed,
                        event_count, first_seen, last_seen, last_release)
                        VALUES (\(fingerprint), \(first.component), \(first.errorType), \(String(first.message.prefix(512))),
                        \(first.severity),
                            \(IssueStatus.unresolved), \(false), 0, \(occurred), \(occurred), \(first.release))
                        RETURNING id
                        """)
                else { throw SuiteError(.storage, "the issue was not created") }
                state = IssueState(
                    id: id, status: .unresolved, regressed: false, severity: first.severity, count: 0, lastSeen: occurred,
                    lastRelease: first.release, resolvedInRelease: nil, ignoredUntil: nil, ignoredUntilCount: nil)
                created = true
            }
            for (position, index) in members.enumerated() {
                let event = events[index]
                let occurred = (event.occurredAt ?? now).roundedToStoredPrecision
                state.count += 1
                var regressed = false
                switch state.status {
                case .resolved where Self.regresses(resolvedIn: state.resolvedInRelease, release: event.release):
                    state.status = .unresolved
                    state.regressed = true
                    regressed = true
                    try record(
                        conn, state.id, action: "regressed", from: .resolved, to: .unresolved, release: event.release,
                        note:
                            """
                            an event from release \(event.release ?? "(none)") after it was \
                            resolved\(state.resolvedInRelease.map { " in \($0)" } ?? "")
                            """,
                        accessor: accessor, at: now)
                case .ignored
                where (state.ignoredUntil.map { now >= $0 } ?? false) || (state.ignoredUntilCount.map { state.count >= $0 } ?? false):
                    state.status = .unresolved
                    state.ignoredUntil = nil
                    state.ignoredUntilCount = nil
                    try record(
                        conn, state.id, action: "unignored", from: .ignored, to: .unresolved, release: event.release,
                        note: "the ignore ran out",
                        accessor: accessor, at: now)
                default:
                    break
                }
                state.lastSeen = max(state.lastSeen, occurred)
                state.severity = max(state.severity, event.severity)
                if let release = event.release { state.lastRelease = release }
                results[index] = LoggedError(issueID: state.id, newIssue: created && position == 0, regressed: regressed, duplicate: false)
                rows.append([
                    .int(state.id), .text(event.component), event.severity.sqlValue, .text(event.message), .text(event.errorType),
                    .text(event.stackTrace), .text(try JSONText.encode(event.context)), event.release.map(SQLValue.text) ?? .null,
                    .text(event.host), .timestamp(occurred), .timestamp(now), event.sourceID.map(SQLValue.text) ?? .null
                ])
            }
            try conn.execute(
                """
                UPDATE error_issues SET event_count = \(state.count), last_seen = \(state.lastSeen), severity = \(state.severity),
                    status = \(state.status), regressed = \(state.regressed), last_release = \(state.lastRelease),
                    ignored_until = \(state.ignoredUntil), ignored_until_count = \(state.ignoredUntilCount)
                WHERE id = \(state.id)
                """)
        }
        if !rows.isEmpty {
            try conn.executeBatch(
                """
                INSERT INTO error_logs (issue_id, component, severity, message, error_type, stack_trace, context, release, host,
                occurred_at, received_at, source_id)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                """, rows: rows)
        }
        for (index, first) in repeats {
            results[index] = LoggedError(issueID: results[first]?.issueID ?? 0, newIssue: false, regressed: false, duplicate: true)
        }
        return results.map { $0! }
    }

    /// Sentry's rule: resolved plainly, any new event regresses; resolved in release X, an event from X or a
    /// later release does, one from an older release (or with no release) does not.
    static func regresses(resolvedIn fixed: String?, release: String?) -> Bool {
        guard let fixed else { return true }
        guard let release else { return false }
        return !Release.precedes(release, fixed)
    }

    // MARK: reading

    /// Issues, most recently seen first.
    public func issues(_ grant: Grant, status: IssueStatus? = nil, component: String? = nil, limit: Int = 100) async throws -> [ErrorIssue]
    {
        guard (1...1000).contains(limit) else { throw SuiteError(.invalid, "limit must be from 1 to 1000") }
        var query: SQLQuery = "SELECT \(columns: ErrorIssue.Column.self) FROM error_issues WHERE 1 = 1"
        if let status { query.append(" AND status = \(status)") }
        if let component { query.append(" AND component = \(component)") }
        query.append(" ORDER BY last_seen DESC, id DESC LIMIT \(Int64(limit))")
        let found = query
        return try await database.read { conn in try conn.query(ErrorIssue.self, found) }
    }

    /// One issue, its status history (oldest first) and its latest events.
    /// - Throws: ``SuiteError`` `.notFound`.
    public func issue(_ grant: Grant, id: Int64, events limit: Int = 20) async throws -> (ErrorIssue, [IssueChange], [StoredErrorEvent]) {
        try await database.read { conn in
            guard
                let issue = try conn.query(ErrorIssue.self, "SELECT \(columns: ErrorIssue.Column.self) FROM error_issues WHERE id = \(id)")
                    .first
            else {
                throw Self.unknown(id)
            }
            let history = try conn.query(
                IssueChange.self, "SELECT \(columns: IssueChange.Column.self) FROM error_issue_history WHERE issue_id = \(id) ORDER BY id")
            let events = try conn.query(
                StoredErrorEvent.self,
                """
                SELECT \(columns: StoredErrorEvent.Column.self) FROM error_logs WHERE issue_id = \(id)
                ORDER BY occurred_at DESC, id DESC LIMIT \(Int64(limit))
                """)
            return (issue, history, events)
        }
    }

    static func unknown(_ id: Int64) -> SuiteError { SuiteError(.notFound, "no error issue \(id): list them with coffer errors list") }

    // MARK: workflow

    /// Resolves an issue, optionally "in release X" (older releases' events then do not regress it).
    public func resolve(_ grant: Grant, id: Int64, inRelease release: String? = nil, note: String = "") async throws -> ErrorIssue {
        try await change(grant, id: id, action: "resolved", to: .resolved, release: release, note: note) { conn, now, _ in
            try conn.execute(
                """
                UPDATE error_issues SET status = 'resolved', regressed = \(false), resolved_in_release = \(release), resolved_by
                = \(grant.accessor),
                    resolved_at = \(now), resolution_note = \(note), ignored_until = NULL, ignored_until_count = NULL WHERE id = \(id)
                """)
        }
    }

    /// Ignores an issue until a time, or until `moreEvents` more events, or (neither) until reopened.
    public func ignore(_ grant: Grant, id: Int64, until: Date? = nil, moreEvents: Int64? = nil, note: String = "") async throws
        -> ErrorIssue
    {
        if let moreEvents, moreEvents < 1 { throw SuiteError(.invalid, "count must be at least 1 (events before the issue returns)") }
        return try await change(grant, id: id, action: "ignored", to: .ignored, release: nil, note: note) { conn, _, issue in
            try conn.execute(
                """
                UPDATE error_issues SET status = 'ignored', ignored_until = \(until?.roundedToStoredPrecision),
                    ignored_until_count = \(moreEvents.map { issue.count + $0 }) WHERE id = \(id)
                """)
        }
    }

    /// Reopens a resolved or ignored issue.
    public func reopen(_ grant: Grant, id: Int64, note: String = "") async throws -> ErrorIssue {
        try await change(grant, id: id, action: "reopened", to: .unresolved, release: nil, note: note) { conn, _, _ in
            try conn.execute(
                """
                UPDATE error_issues SET status = 'unresolved', resolved_in_release = NULL, ignored_until = NULL,
                ignored_until_count = NULL WHERE id = \(id)
                """)
        }
    }

    private func change(
        _ grant: Grant, id: Int64, action: String, to status: IssueStatus, release: String?, note: String,
        _ update: @escaping @Sendable (any SQLConnection, Date, ErrorIssue) throws -> Void
    ) async throws -> ErrorIssue {
        guard note.utf8.count <= 4096 else { throw SuiteError(.invalid, "note is longer than 4096 bytes") }
        if let release, release.isEmpty || release.utf8.count > 128 { throw SuiteError(.invalid, "release must be 1 to 128 bytes") }
        let accessor = grant.accessor
        return try await database.transaction { conn in
            guard
                let issue = try conn.query(ErrorIssue.self, "SELECT \(columns: ErrorIssue.Column.self) FROM error_issues WHERE id = \(id)")
                    .first
            else {
                throw Self.unknown(id)
            }
            let now = WallClock.now.roundedToStoredPrecision
            try update(conn, now, issue)
            try Self.record(
                conn, id, action: action, from: issue.status, to: status, release: release, note: note, accessor: accessor, at: now)
            guard
                let changed = try conn.query(
                    ErrorIssue.self, "SELECT \(columns: ErrorIssue.Column.self) FROM error_issues WHERE id = \(id)"
                ).first
            else {
                throw Self.unknown(id)
            }
            return changed
        }
    }

    private static func record(
        _ conn: any SQLConnection, _ id: Int64, action: String, from: IssueStatus, to: IssueStatus, release: String?,
        note: String, accessor: String, at: Date
    ) throws {
        try conn.execute(
            """
            INSERT INTO error_issue_history (issue_id, action, from_status, to_status, release, note, accessor, at)
            VALUES (\(id), \(action), \(from), \(to), \(release), \(note), \(accessor), \(at))
            """)
    }

    // MARK: trends

    /// Events per hour (or day) per component and severity since `since`.
    public func trends(_ grant: Grant, since: Date, daily: Bool = false) async throws -> [ErrorTrend] {
        let width: Int64 = daily ? 86_400 : 3_600
        return try await database.read { conn in
            // The bucket as Unix seconds, computed in SQL so the grouping happens there.
            let bucket: SQLQuery =
                conn.dialect == .postgres
                ? "(floor(extract(epoch FROM occurred_at) / \(width)) * \(width))::bigint"
                : "((occurred_at / 1000000) / \(width)) * \(width)"
            // The select list is ErrorTrend.Column's, in its order.
            return try conn.query(
                ErrorTrend.self,
                """
                SELECT \(bucket) AS bucket, component, severity, count(*) AS n FROM error_logs WHERE occurred_at >= \(since)
                GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
                """)
        }
    }

    /// The issues with the most events since `since`, with those counts.
    public func topIssues(_ grant: Grant, since: Date, limit: Int = 10) async throws -> [(ErrorIssue, Int64)] {
        guard (1...1000).contains(limit) else { throw SuiteError(.invalid, "limit must be from 1 to 1000") }
        return try await database.read { conn in
            try conn.query(
                """
                SELECT \(columns: ErrorIssue.Column.self, of: "i"), t.n FROM error_issues i JOIN (
                    SELECT issue_id, count(*) AS n FROM error_logs WHERE occurred_at >= \(since) GROUP BY issue_id) t ON t.issue_id = i.id
                ORDER BY t.n DESC, i.id LIMIT \(Int64(limit))
                """
            ).map { (try ErrorIssue(row: $0), try $0.decode(Int64.self, at: ErrorIssue.Column.allCases.count)) }
        }
    }
}

/// Release order: semantic versions by precedence (a leading `v` allowed), anything else as text.
enum Release {
    /// Whether `a` comes before `b`.
    static func precedes(_ a: String, _ b: String) -> Bool {
        func semantic(_ text: String) -> SemanticVersion? { SemanticVersion(text.hasPrefix("v") ? String(text.dropFirst()) : text) }
        if let left = semantic(a), let right = semantic(b) { return left < right }
        return a.compare(b, options: .numeric) == .orderedAscending
    }
}
