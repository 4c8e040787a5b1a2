import CofferAccess
import CofferFoundation
public import CofferHTTP
import Foundation
import HTTPTypes
import Hummingbird

/// `/v1/coffer/errors/…` (Docs/API.md, "Error logs"): events in batches, issues and their workflow
/// (resolve, ignore, reopen), trends and top issues. Policies: `errors-reader`, `errors-writer`.
public struct ErrorRoutes: Sendable {
    let log: ErrorLog

    /// The routes over these stores and services; ``register(on:)`` adds them to a router.
    public init(log: ErrorLog) {
        self.log = log
    }

    /// Adds every route of this set to `router`.
    public func register(on router: GatedRouter) {
        router.on("/v1/coffer/errors/events", method: .post) { request, context, grant in
            let body = try await Body.decode(EventsBody.self, request, context)
            let events = try body.events.enumerated().map { index, event in try event.event(index: index) }
            let logged = try await log.log(grant, events)
            grant.auditFact("events", "\(logged.filter { !$0.duplicate }.count)")
            return VaultJSON.response(status: .ok, VaultEnvelope(data: ["events": logged]))
        }
        router.on("/v1/coffer/errors/issues", method: .get) { request, _, grant in
            let query = request.uri.queryParameters
            let status = try query["status"].map { text -> IssueStatus in
                guard let status = IssueStatus(rawValue: String(text)) else {
                    throw APIError(.badRequest, "status must be unresolved, resolved or ignored")
                }
                return status
            }
            guard let limit = Int(query["limit"].map(String.init) ?? "100") else { throw APIError(.badRequest, "limit must be a number") }
            let issues = try await log.issues(grant, status: status, component: query["component"].map(String.init), limit: limit)
            return VaultJSON.response(status: .ok, VaultEnvelope(data: ["issues": issues]))
        }
        router.on("/v1/coffer/errors/issues/:id", method: .get) { _, context, grant in
            let (issue, history, events) = try await log.issue(grant, id: try Self.id(context))
            return VaultJSON.response(
                status: .ok,
                VaultEnvelope(
                    data: DetailAnswer(issue: issue, history: history, events: events)))
        }
        router.on("/v1/coffer/errors/issues/:id/resolve", method: .post) { request, context, grant in
            let body = try await Body.decodeIfPresent(ChangeBody.self, request, context) ?? ChangeBody()
            let issue = try await log.resolve(grant, id: try Self.id(context), inRelease: body.in_release, note: body.note ?? "")
            return VaultJSON.response(status: .ok, VaultEnvelope(data: issue))
        }
        router.on("/v1/coffer/errors/issues/:id/ignore", method: .post) { request, context, grant in
            let body = try await Body.decodeIfPresent(ChangeBody.self, request, context) ?? ChangeBody()
            let until = try body.until.map { try SuiteTime.parse($0.text, field: "until") }
            let issue = try await log.ignore(grant, id: try Self.id(context), until: until, moreEvents: body.count, note: body.note ?? "")
            return VaultJSON.response(status: .ok, VaultEnvelope(data: issue))
        }
        router.on("/v1/coffer/errors/issues/:id/reopen", method: .post) { request, context, grant in
            let body = try await Body.decodeIfPresent(ChangeBody.self, request, context) ?? ChangeBody()
            let issue = try await log.reopen(grant, id: try Self.id(context), note: body.note ?? "")
            return VaultJSON.response(status: .ok, VaultEnvelope(data: issue))
        }
        router.on("/v1/coffer/errors/stats", method: .get) { request, _, grant in
            let query = request.uri.queryParameters
            let window = try Duration.seconds(of: DurationValue(query["window"].map(String.init) ?? "24h"), field: "window")
            let since = WallClock.now.addingTimeInterval(-Double(window))
            let daily = query["bucket"].map { $0 == "day" } ?? false
            let trends = try await log.trends(grant, since: since, daily: daily)
            let top = try await log.topIssues(grant, since: since, limit: Int(query["top"].map(String.init) ?? "10") ?? 10)
            return VaultJSON.response(
                status: .ok,
                VaultEnvelope(
                    data: StatsAnswer(trends: trends, topIssues: top.map { TopAnswer(issue: $0.0, eventsInWindow: $0.1) })))
        }
    }

    static func id(_ context: CofferRequestContext) throws -> Int64 {
        guard let id = Int64(try context.parameters.require("id")), id > 0 else {
            throw APIError(.badRequest, "an issue id is a number (see coffer errors list)")
        }
        return id
    }

    package struct EventsBody: Decodable {
        let events: [Event]

        package struct Event: Decodable {
            let component: String
            var severity: String?
            let message: String
            var error_type: String?
            var stack_trace: String?
            var context: [String: JSONValue]?
            var release: String?
            var host: String?
            var time: TimeValue?
            var fingerprint: StringList?
            var source_id: String?

            func event(index: Int) throws -> ErrorEvent {
                let level = severity ?? "error"
                guard let parsed = Severity(rawValue: level) else {
                    throw APIError(
                        .badRequest, "events[\(index)].severity must be debug, info, warning, error or critical; nothing was stored")
                }
                return ErrorEvent(
                    component: component, severity: parsed, message: message, errorType: error_type ?? "", stackTrace: stack_trace ?? "",
                    context: context ?? [:], release: release, host: host ?? "",
                    occurredAt: try time.map { try SuiteTime.parse($0.text, field: "events[\(index)].time") },
                    fingerprint: fingerprint?.items, sourceID: source_id)
            }
        }
    }

    package struct ChangeBody: Decodable {
        var in_release: String?
        var until: TimeValue?
        var count: Int64?
        var note: String?
    }

    struct DetailAnswer: Encodable {
        let issue: ErrorIssue
        let history: [IssueChange]
        let events: [StoredErrorEvent]
    }

    struct TopAnswer: Encodable {
        let issue: ErrorIssue
        let eventsInWindow: Int64

        enum CodingKeys: String, CodingKey { case issue, eventsInWindow = "events_in_window" }
    }

    struct StatsAnswer: Encodable {
        let trends: [ErrorTrend]
        let topIssues: [TopAnswer]

        enum CodingKeys: String, CodingKey { case trends, topIssues = "top_issues" }
    }
}
