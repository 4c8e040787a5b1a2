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

/// Events grouped by fingerprint.
public struct ErrorIssue: Sendable, Equatable {
    public let id: Int64
    public let fingerprint: String
    public let component: String
    public let errorType: String
    public let title: String
    public let severity: Severity
    public let status: IssueStatus
    public let regressed: Bool
    public let resolvedInRelease: String?
    public let resolvedBy: String?
    public let resolvedAt: Date?
    public let resolutionNote: String?
    public let ignoredUntil: Date?
    public let ignoredUntilCount: Int64?
    public let count: Int64
    public let firstSeen: Date
    public let lastSeen: Date
    public let lastRelease: String?
}

/// A change of an issue's status, by whom.
public struct IssueChange: Sendable, Equatable {
    public let action: String
    public let fromStatus: IssueStatus
    public let toStatus: IssueStatus
    public let release: String?
    public let note: String
    public let accessor: String
    public let at: Date
}

/// A stored event.
public struct StoredErrorEvent: Sendable, Equatable {
    public let id: Int64
    public let issueID: Int64
    public let event: ErrorEvent
    public let receivedAt: Date
}

/// What logging one event did.
public struct LoggedError: Sendable, Equatable {
    public let issueID: Int64
    /// The event opened this issue.
    public let newIssue: Bool
    /// The event reopened a resolved issue.
    public let regressed: Bool
    /// The event was already stored (an import's source id seen before); nothing was added.
    public let duplicate: Bool
}

/// Events per bucket (hour or day), component and severity.
public struct ErrorTrend: Sendable, Equatable {
    public let bucket: Date
    public let component: String
    public let severity: Severity
    public let count: Int64
}
