public import CofferFoundation
public import Foundation

/// One error event as reported.
public struct ErrorEvent: Sendable, Equatable {
    public var component: String
    public var severity: Severity
    public var message: String
    public var errorType: String
    public var stackTrace: String
    public var context: [String: JSONValue]
    public var release: String?
    public var host: String
    /// When it happened; default: when received.
    public var occurredAt: Date?
    /// Groups the event under this issue instead of error type + top frames (Sentry's `fingerprint`).
    public var fingerprint: [String]?
    /// An importer's id for the event: one already stored is skipped (imports are idempotent).
    public var sourceID: String?

    public init(
        component: String, severity: Severity = .error, message: String, errorType: String = "", stackTrace: String = "",
        context: [String: JSONValue] = [:], release: String? = nil, host: String = "", occurredAt: Date? = nil,
        fingerprint: [String]? = nil, sourceID: String? = nil
    ) {
        self.component = component
        self.severity = severity
        self.message = message
        self.errorType = errorType
        self.stackTrace = stackTrace
        self.context = context
        self.release = release
        self.host = host
        self.occurredAt = occurredAt
        self.fingerprint = fingerprint
        self.sourceID = sourceID
    }
}

/// Where an issue is in Sentry's workflow. A regressed issue is `unresolved` with ``ErrorIssue/regressed`` set.
public enum IssueStatus: String, Sendable, Codable, CaseIterable {
    case unresolved, resolved, ignored
}

/// Events grouped by fingerprint, encoded as its answer (`/v1/coffer/errors/issues/:id`).
public struct ErrorIssue: Sendable, Equatable, Encodable {
    public let id: Int64
    public let fingerprint: String
    public let component: String
    public let errorType: String
    public let title: String
    public let severity: Severity
    public let status: IssueStatus
    public let regressed: Bool
    @EncodesNull public internal(set) var resolvedInRelease: String?
    @EncodesNull public internal(set) var resolvedBy: String?
    @EncodesNull public internal(set) var resolvedAt: Date?
    @EncodesNull public internal(set) var resolutionNote: String?
    @EncodesNull public internal(set) var ignoredUntil: Date?
    @EncodesNull public internal(set) var ignoredUntilCount: Int64?
    public let count: Int64
    public let firstSeen: Date
    public let lastSeen: Date
    @EncodesNull public internal(set) var lastRelease: String?

    enum CodingKeys: String, CodingKey {
        case id, fingerprint, component, errorType = "error_type", title, severity, status, regressed
        case resolvedInRelease = "resolved_in_release", resolvedBy = "resolved_by", resolvedAt = "resolved_time"
        case resolutionNote = "resolution_note", ignoredUntil = "ignored_until", ignoredUntilCount = "ignored_until_count"
        case count, firstSeen = "first_seen", lastSeen = "last_seen", lastRelease = "last_release"
    }
}

/// A change of an issue's status, by whom.
public struct IssueChange: Sendable, Equatable, Encodable {
    public let action: String
    public let fromStatus: IssueStatus
    public let toStatus: IssueStatus
    @EncodesNull public internal(set) var release: String?
    public let note: String
    public let accessor: String
    public let at: Date

    enum CodingKeys: String, CodingKey {
        case action, fromStatus = "from_status", toStatus = "to_status", release, note, accessor, at = "time"
    }
}

/// A stored event. Its answer is the event's fields beside its id, `time` (when it happened, or when it was
/// received if the reporter did not say) and `received_time`.
public struct StoredErrorEvent: Sendable, Equatable, Encodable {
    public let id: Int64
    public let issueID: Int64
    public let event: ErrorEvent
    public let receivedAt: Date

    private enum CodingKeys: String, CodingKey {
        case id, component, severity, message, errorType = "error_type", stackTrace = "stack_trace", context, release
        case host, time, receivedAt = "received_time"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(event.component, forKey: .component)
        try container.encode(event.severity, forKey: .severity)
        try container.encode(event.message, forKey: .message)
        try container.encode(event.errorType, forKey: .errorType)
        try container.encode(event.stackTrace, forKey: .stackTrace)
        try container.encode(event.context, forKey: .context)
        try container.encode(event.release, forKey: .release)
        try container.encode(event.host, forKey: .host)
        try container.encode(event.occurredAt ?? receivedAt, forKey: .time)
        try container.encode(receivedAt, forKey: .receivedAt)
    }
}

/// What logging one event did.
public struct LoggedError: Sendable, Equatable, Encodable {
    public let issueID: Int64
    /// The event opened this issue.
    public let newIssue: Bool
    /// The event reopened a resolved issue.
    public let regressed: Bool
    /// The event was already stored (an import's source id seen before); nothing was added.
    public let duplicate: Bool

    enum CodingKeys: String, CodingKey { case issueID = "issue_id", newIssue = "new_issue", regressed, duplicate }
}

/// Events per bucket (hour or day), component and severity.
public struct ErrorTrend: Sendable, Equatable, Encodable {
    public let bucket: Date
    public let component: String
    public let severity: Severity
    public let count: Int64
}
