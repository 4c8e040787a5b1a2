import CofferServerTesting
import HTTPTypes
import HummingbirdTesting
import Testing

/// The error log's answers as a client reads them (the wire's field names), so the tests check typed values
/// rather than walking `[String: Any]`.
enum Errors {
    /// One event's outcome in `coffer/errors/events`.
    struct Logged: Decodable {
        let issueID: Int
        let newIssue: Bool
        let regressed: Bool
        let duplicate: Bool

        enum CodingKeys: String, CodingKey {
            case regressed, duplicate
            case issueID = "issue_id", newIssue = "new_issue"
        }
    }

    /// A batch's answer.
    struct Batch: Decodable {
        let events: [Logged]
    }

    /// An issue (`…/issues/<id>`'s `issue`, an entry of a list, a resolve's or reopen's answer).
    struct Issue: Decodable {
        let id: Int
        let errorType: String
        let status: String
        let regressed: Bool
        let resolvedBy: String?
        let count: Int

        enum CodingKeys: String, CodingKey {
            case id, status, regressed, count
            case errorType = "error_type", resolvedBy = "resolved_by"
        }
    }

    /// `…/issues/<id>`: the issue, its history and its latest events.
    struct Detail: Decodable {
        struct Change: Decodable {
            let action: String
            let accessor: String
            let note: String
        }

        struct Event: Decodable {
            let release: String?
        }

        let issue: Issue
        let history: [Change]
        let events: [Event]
    }

    /// `…/issues?…`.
    struct Issues: Decodable {
        let issues: [Issue]
    }

    /// `…/stats?window=…`: counts per bucket, component and severity, and the busiest issues.
    struct Statistics: Decodable {
        struct Trend: Decodable {
            let component: String
            let severity: String
            let count: Int
        }

        struct Top: Decodable {
            let issue: Issue
            let eventsInWindow: Int

            enum CodingKeys: String, CodingKey {
                case issue
                case eventsInWindow = "events_in_window"
            }
        }

        let trends: [Trend]
        let topIssues: [Top]

        enum CodingKeys: String, CodingKey {
            case trends
            case topIssues = "top_issues"
        }
    }
}
