import CofferAccess
import CofferEngines
import CofferErrorLog
import CofferFoundation
import CofferServer
import CofferServerTesting
import CofferStore
import CofferTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// Error logs through `/v1/coffer/errors/…` on SQLite and a real PostgreSQL: grouping by fingerprint, the
/// regression rule, ignoring until a count or a time, reopening, trends and top issues, batches refused
/// whole, and the reader and writer policies with their audit entries.
struct ErrorLogTests {
    @Test(arguments: TestDatabase.backends)
    func errors(_ backend: TestBackend) async throws {
        let time = ManualTime()
        try await withUnsealedServer(backend, time: time) { try await errorContract($0, $1, time) }
    }

    /// `time` is the server's clock: an ignore period ends because the test moves it, not because it sleeps.
    func errorContract(_ server: CofferServer, _ root: String, _ time: ManualTime) async throws {
        try await Application(router: server.makeRouter()).test(.router) { client in
            let tokens = try await SuiteTokens.make(client, root: root, module: "errors")
            let writer = tokens.writer.token, reader = tokens.reader.token
            func log(_ events: [[String: Any]], token: String? = nil) async throws
                -> (HTTPResponse.Status, [Errors.Logged], VaultAnswer<Errors.Batch>)
            {
                let (status, body) = try await client.answer(
                    Errors.Batch.self, "/v1/coffer/errors/events", token: token ?? writer, ["events": events])
                return (status, body.data?.events ?? [], body)
            }
            func detail(_ id: Int) async throws -> Errors.Detail {
                try #require(
                    try await client.answer(Errors.Detail.self, "/v1/coffer/errors/issues/\(id)", .get, token: reader).1.data, "issue \(id)"
                )
            }
            func issue(_ id: Int) async throws -> Errors.Issue { try await detail(id).issue }
            func event(_ release: String?, line: Int = 10) -> [String: Any] {
                var event: [String: Any] = [
                    "component": "payments", "severity": "error", "message": "card 4242 declined", "error_type": "payments.CardDeclined",
                    "stack_trace": SampleLogs.pythonTraceback(line: line), "host": "web-1"
                ]
                event["release"] = release
                return event
            }

            // Same type and frames (other line numbers, other card numbers) group; another type does not.
            let (status, first, _) = try await log([
                event("1.3.0"), event("1.3.0", line: 99),
                ["component": "api", "message": "timeout after 30s", "error_type": "TimeoutError", "severity": "critical"]
            ])
            #expect(status == .ok && first.count == 3)
            let payments = first[0].issueID
            #expect(first[1].issueID == payments && first[2].issueID != payments)
            #expect(first[0].newIssue && !first[1].newIssue)
            #expect(try await issue(payments).count == 2)
            // A caller's fingerprint decides instead.
            let (_, custom, _) = try await log([event("1.3.0").merging(["fingerprint": ["payments", "declines"]]) { $1 }])
            #expect(custom.first?.issueID != payments)

            // One bad event refuses the batch, naming it; nothing of it is stored.
            let (bad, _, badBody) = try await log([event("1.3.0"), ["component": "api", "message": "x", "severity": "loud"]])
            #expect(bad == .badRequest && (badBody.errors ?? []).joined().contains("events[1]"), "\(badBody)")
            let (future, _, _) = try await log([event("1.3.0").merging(["time": Date().timeIntervalSince1970 + 86_400]) { $1 }])
            #expect(future == .badRequest)
            #expect(try await issue(payments).count == 2)
            let (denied, _, _) = try await log([event("1.3.0")], token: reader)
            #expect(denied == .forbidden)
            #expect(try await server.auditEntries("coffer/errors/events").contains { $0.decision == "deny" && $0.status == 403 })

            // Resolved in 1.4.0: an event from 1.3.9 does not regress it, one from 1.4.0 does.
            let (resolved, resolvedBody) = try await client.answer(
                Errors.Issue.self, "/v1/coffer/errors/issues/\(payments)/resolve", token: writer,
                ["in_release": "1.4.0", "note": "retry added"])
            #expect(resolved == .ok && resolvedBody.data?.resolvedBy == tokens.writer.accessor)
            #expect(try await client.call("/v1/coffer/errors/issues/\(payments)/resolve", token: reader, [:]).0 == .forbidden)
            let (_, older, _) = try await log([event("1.3.9")])
            #expect(older.first?.regressed == false)
            #expect(try await issue(payments).status == "resolved")
            let (_, newer, _) = try await log([event("v1.4.0")])
            #expect(newer.first?.regressed == true)
            let regressed = try await detail(payments)
            #expect(regressed.issue.status == "unresolved" && regressed.issue.regressed)
            #expect(regressed.history.map(\.action) == ["resolved", "regressed"], "\(regressed.history)")
            #expect(regressed.history.first?.accessor == tokens.writer.accessor && regressed.history.first?.note == "retry added")
            #expect(regressed.events.first?.release == "v1.4.0")

            // Resolved plainly: any event regresses it.
            _ = try await client.call("/v1/coffer/errors/issues/\(payments)/resolve", token: writer, [:])
            #expect(try await log([event(nil)]).1.first?.regressed == true)

            // Ignored until 2 more events: the first keeps it ignored, the second brings it back.
            #expect(try await client.call("/v1/coffer/errors/issues/\(payments)/ignore", token: writer, ["count": 2]).0 == .ok)
            _ = try await log([event("1.5.0")])
            #expect(try await issue(payments).status == "ignored")
            _ = try await log([event("1.5.0")])
            #expect(try await issue(payments).status == "unresolved")
            // Ignored until a time that has passed: the next event brings it back; reopen works by hand.
            #expect(
                try await client.call(
                    "/v1/coffer/errors/issues/\(payments)/ignore", token: writer, ["until": time.now.timeIntervalSince1970 + 60]
                ).0 == .ok)
            time.advance(by: 61)
            _ = try await log([event("1.5.0")])
            #expect(try await issue(payments).status == "unresolved")
            #expect(try await client.call("/v1/coffer/errors/issues/\(payments)/ignore", token: writer, [:]).0 == .ok)
            #expect(
                try await client.answer(
                    Errors.Issue.self, "/v1/coffer/errors/issues/\(payments)/reopen", token: writer, ["note": "looking"]
                )
                .1.data?.status == "unresolved")

            // Unknown ids, malformed ids, filters.
            #expect(try await client.call("/v1/coffer/errors/issues/99999", .get, token: reader).0 == .notFound)
            #expect(try await client.call("/v1/coffer/errors/issues/abc", .get, token: reader).0 == .badRequest)
            #expect(try await client.call("/v1/coffer/errors/issues/99999/resolve", token: writer, [:]).0 == .notFound)
            let (_, listed) = try await client.answer(Errors.Issues.self, "/v1/coffer/errors/issues?component=api", .get, token: reader)
            #expect(listed.data?.issues.map(\.errorType) == ["TimeoutError"])

            // Trends per hour per component and severity; top issues over the window.
            let stats = try #require(
                try await client.answer(Errors.Statistics.self, "/v1/coffer/errors/stats?window=1h", .get, token: reader).1.data, "stats")
            let paymentsErrors = stats.trends.filter { $0.component == "payments" && $0.severity == "error" }.map(\.count).reduce(0, +)
            #expect(paymentsErrors == 9, "\(stats.trends)")
            #expect(stats.trends.contains { $0.component == "api" && $0.severity == "critical" && $0.count == 1 })
            #expect(stats.topIssues.first?.issue.id == payments && stats.topIssues.first?.eventsInWindow == 8, "\(stats.topIssues)")
        }
    }
}
