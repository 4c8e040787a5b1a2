import CofferAccess
import CofferHealth
import CofferServer
import CofferServerTesting
import CofferStore
import CofferTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Alerts on SQLite and a real PostgreSQL: a burst of critical errors fires once, repeats after its interval,
/// resolves when the window passes; a webhook gets the notice and is retried after a failure; a silence stops
/// notifications but not the history; metric thresholds and health transitions fire per group.
struct AlertTests {
    @Test(arguments: TestDatabase.backends)
    func alerts(_ backend: TestBackend) async throws { try await withUnsealedServer(backend, alertContract) }

    /// A one-thread HTTP server on loopback that answers each request with the next status of `statuses`
    /// (then 200) and keeps the bodies it got.
    final class Webhook: @unchecked Sendable {
        let fd: Int32
        let port: Int
        let bodies = Bodies()

        /// What the webhook received, shared with its thread.
        final class Bodies: @unchecked Sendable {
            private let lock = NSLock()
            private var items: [String] = []

            func withLock<R>(_ body: (inout [String]) -> R) -> R {
                lock.lock()
                defer { lock.unlock() }
                return body(&items)
            }
        }

        init(statuses: [Int]) throws {
            (fd, port) = try HealthMonitorTests.listener()
            let fd = fd, bodies = bodies
            Thread {
                var remaining = statuses
                while true {
                    let client = accept(fd, nil, nil)
                    guard client >= 0 else { return }
                    var data = [UInt8]()
                    var buffer = [UInt8](repeating: 0, count: 4096)
                    while true {
                        let count = buffer.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
                        if count <= 0 { break }
                        data += buffer[0..<count]
                        let text = String(decoding: data, as: UTF8.self)
                        if let split = text.range(of: "\r\n\r\n"),
                            let length = text[..<split.lowerBound].split(separator: "\r\n").first(where: {
                                $0.lowercased().hasPrefix("content-length:")
                            })
                            .flatMap({ Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) }),
                            text.utf8.distance(from: text.utf8.startIndex, to: split.upperBound) + length <= data.count
                        {
                            bodies.withLock { $0.append(String(text[split.upperBound...])) }
                            break
                        }
                    }
                    let status = remaining.isEmpty ? 200 : remaining.removeFirst()
                    let answer = Array("HTTP/1.1 \(status) X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8)
                    _ = answer.withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                    close(client)
                }
            }.start()
        }

        func stop() {
            shutdown(fd, Int32(SHUT_RDWR))
            close(fd)
        }
    }

    func alertContract(_ server: CofferServer, _ root: String) async throws {
        let webhook = try Webhook(statuses: [500])
        defer { webhook.stop() }
        try await Application(router: server.makeRouter()).test(.router) { client in
            let tokens = try await SuiteTokens.make(client, root: root, module: "health")
            let rules = """
                {"rules": [
                  {"name": "payments-burst", "type": "error_burst", "component": "payments", "severity": "critical", "count": 3, \
                "window": 3600,
                   "repeat_interval": 600, "sinks": [{"type": "webhook", "url": "http://127.0.0.1:\(webhook.port)/hook", \
                "attempts": 2}, {"type": "log"}]},
                  {"name": "slow", "type": "metric_threshold", "metric": "latency_seconds", "fn": "max", "op": ">", "value": 1.0, \
                "window": 60,
                   "group_by": ["route"], "sinks": [{"type": "log"}]},
                  {"name": "down", "type": "health_transition", "to": "critical", "sinks": [{"type": "log"}]}
                ]}
                """
            func put(_ text: String, token: String) async throws -> (HTTPResponse.Status, [String: Any]) {
                try await client.execute(
                    uri: "/v1/coffer/health/alerts/rules", method: .put, headers: [vaultToken: token], body: ByteBuffer(string: text)
                ) {
                    ($0.status, (try? JSON.object($0.body)) ?? [:])
                }
            }
            #expect(try await put(rules, token: tokens.reader.token).0 == .forbidden)
            #expect(try await put(rules, token: tokens.writer.token).0 == .ok)
            let (bad, badBody) = try await put(
                #"{"rules": [{"name": "x", "type": "error_burst", "sinks": [{"type": "log"}]}]}"#, token: tokens.writer.token)
            #expect(bad == .badRequest && "\(badBody)".contains("count"), "\(badBody)")

            func evaluate(at time: Date) async throws -> [AlertNotice] {
                try await server.gate.perform(
                    GateRequest(
                        token: root, path: "coffer/health/alerts/evaluate", operation: .write, requestID: UUID().uuidString,
                        remoteAddress: "test"), status: { _ in 200 }
                ) { grant in try await server.alerts.evaluate(grant, now: time) }
            }
            let now = Date()
            // Two critical errors: nothing; the third fires once, to the webhook (retried after its 500) and the log.
            let event: [String: Any] = [
                "component": "payments", "severity": "critical", "message": "card processor down", "error_type": "Outage",
                "time": now.timeIntervalSince1970 - 10
            ]
            _ = try await client.call("/v1/coffer/errors/events", token: root, ["events": [event, event]])
            #expect(try await evaluate(at: now).isEmpty)
            _ = try await client.call("/v1/coffer/errors/events", token: root, ["events": [event]])
            let fired = try await evaluate(at: now)
            #expect(fired.map(\.state) == ["firing"] && fired.first?.group == "payments", "\(fired)")
            #expect(webhook.bodies.withLock { $0.count } == 2, "the 500 and the retry")
            #expect(webhook.bodies.withLock { $0.last }?.contains("\"state\":\"firing\"") == true)
            #expect(try await evaluate(at: now.addingTimeInterval(60)).isEmpty, "still firing, not yet repeated")
            #expect(try await evaluate(at: now.addingTimeInterval(601)).map(\.state) == ["repeat"])
            // A silence until a time no calendar holds is a 400 naming the field (it stopped the process once:
            // its microseconds overflowed an Int64; found by make fuzz-api), and the service goes on serving.
            let (farStatus, far) = try await client.answer(
                UnreadData.self, "/v1/coffer/health/alerts/silence", token: tokens.writer.token,
                ["rule": "payments-burst", "until": 5.19e16])
            #expect(farStatus == .badRequest && far.errors?.first?.hasPrefix("until must be a time between") == true, "\(far.errors ?? [])")
            // Silenced: the resolution is stored but not sent.
            #expect(
                try await client.call(
                    "/v1/coffer/health/alerts/silence", token: tokens.writer.token,
                    ["rule": "payments-burst", "until": now.timeIntervalSince1970 + 7200]
                ).0 == .noContent)
            let sentBefore = webhook.bodies.withLock { $0.count }
            #expect(try await evaluate(at: now.addingTimeInterval(3700)).map(\.state) == ["resolved"], "the errors left the window")
            #expect(webhook.bodies.withLock { $0.count } == sentBefore)
            let (_, history) = try await client.answer(
                Alerts.History.self, "/v1/coffer/health/alerts/history", .get, token: tokens.reader.token)
            let entries = try #require(history.data?.history)
            #expect(entries.map(\.state) == ["resolved", "repeat", "firing"], "\(entries)")
            #expect(entries.first?.delivery == "silenced" && entries.last?.delivery.contains("delivered (attempt 2)") == true)

            // A metric threshold, per route: only the slow one fires.
            _ = try await client.call(
                "/v1/coffer/metrics/points", token: root,
                [
                    "points": [
                        ["name": "latency_seconds", "labels": ["route": "/pay"], "value": 2.5, "timestamp": now.timeIntervalSince1970 - 5],
                        ["name": "latency_seconds", "labels": ["route": "/home"], "value": 0.1, "timestamp": now.timeIntervalSince1970 - 5]
                    ]
                ])
            let metricAlerts = try await evaluate(at: now).filter { $0.rule == "slow" }
            #expect(metricAlerts.map(\.group) == ["route=/pay"], "\(metricAlerts)")

            // A health check gone critical fires for that check.
            try await server.gate.perform(
                GateRequest(token: root, path: "coffer/health/results", operation: .write, requestID: "t", remoteAddress: "test"),
                status: { _ in 200 }
            ) { grant in
                var check = HealthCheckDefinition(name: "db", component: "database", type: .tcp)
                check.host = "127.0.0.1"
                check.port = 1
                check.failAfter = 1
                _ = try await server.healthMonitor.apply(grant, [check], prune: true)
                try await server.healthMonitor.record(
                    grant, [(check, ProbeResult(result: .critical, latencyMs: 1, details: "refused"))], instance: "test")
            }
            #expect(try await evaluate(at: now).filter { $0.rule == "down" }.map(\.group) == ["db"])
            let (_, firing) = try await client.answer(Alerts.Firing.self, "/v1/coffer/health/alerts", .get, token: tokens.reader.token)
            // Evaluated at `now` again, the burst is back inside its window: three rules fire.
            #expect(Set(firing.data?.firing.map(\.rule) ?? []) == ["payments-burst", "slow", "down"])

            // Two instances evaluating the same moment: the burst resolves once, notified by one of them only.
            let other = AlertEngine(database: server.database, metrics: server.metrics, logger: TestDatabase.logger)
            let later = now.addingTimeInterval(3800)
            let (first, second) = try await server.gate.perform(
                GateRequest(
                    token: root, path: "coffer/health/alerts/evaluate", operation: .write,
                    requestID: "t2", remoteAddress: "test"), status: { _ in 200 }
            ) { grant in
                async let a = server.alerts.evaluate(grant, now: later)
                async let b = other.evaluate(grant, now: later)
                return (try await a, try await b)
            }
            let resolutions = (first + second).filter { $0.rule == "payments-burst" && $0.state == "resolved" }
            #expect(resolutions.count == 1, "\(first) \(second)")
        }
    }
}
