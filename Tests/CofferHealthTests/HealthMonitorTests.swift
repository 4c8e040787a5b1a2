import CofferAccess
import CofferFoundation
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

/// Health: checks as code through `/v1/coffer/health/…` with real probes (a listening socket, a closed port,
/// commands) on SQLite and a real PostgreSQL; maintenance windows; the liveness and readiness probes; the reader
/// and writer policies.
struct HealthMonitorTests {
    @Test(arguments: TestDatabase.backends)
    func health(_ backend: TestBackend) async throws { try await withUnsealedServer(backend, healthContract) }

    /// A socket listening on a loopback port chosen by the system.
    static func listener() throws -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        listen(fd, 16)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }

    func healthContract(_ server: CofferServer, _ root: String) async throws {
        let (fd, port) = try Self.listener()
        defer { close(fd) }
        // postgres checks, with their credentials and limits, are PostgresHealthCheckTests'.
        try await Application(router: server.makeRouter()).test(.router) { client in
            let tokens = try await SuiteTokens.make(client, root: root, module: "health")
            let file = """
                {"checks": [
                  {"name": "api-port", "component": "api", "type": "tcp", "host": "127.0.0.1", "port": \(port), "interval": 10, \
                "timeout": 2},
                  {"name": "cache-port", "component": "cache", "type": "tcp", "host": "127.0.0.1", "port": 1, "interval": 10, \
                "timeout": 2, "fail_after": 2},
                  {"name": "disk", "component": "host", "type": "command", "command": ["/bin/sh", "-c", "echo 91% used; exit 1"], \
                "interval": 10}
                ]}
                """
            func apply(_ text: String, token: String) async throws -> (HTTPResponse.Status, VaultAnswer<Health.Applied>) {
                try await client.execute(
                    uri: "/v1/coffer/health/checks", method: .put, headers: [vaultToken: token], body: ByteBuffer(string: text)
                ) {
                    ($0.status, try VaultAnswer<Health.Applied>(body: $0.body))
                }
            }
            #expect(try await apply(file, token: tokens.reader.token).0 == .forbidden)
            let (applied, appliedBody) = try await apply(file, token: tokens.writer.token)
            #expect(applied == .ok && appliedBody.data?.added.count == 3, "\(appliedBody)")
            #expect(try await apply(file, token: tokens.writer.token).1.data?.added.isEmpty == true, "applying again changes nothing")
            let (bad, badBody) = try await apply(
                "{\"checks\": [{\"name\": \"x\", \"component\": \"c\", \"type\": \"tcp\"}]}", token: tokens.writer.token)
            #expect(bad == .badRequest && "\(badBody)".contains("host and port"), "\(badBody)")
            // A command check may run only the operator's programs (health_command_dir, /bin here).
            let (outside, outsideBody) = try await apply(
                "{\"checks\": [{\"name\": \"x\", \"component\": \"c\", \"type\": \"command\", \"command\": [\"/tmp/anything\"]}]}",
                token: tokens.writer.token)
            #expect(outside == .badRequest && "\(outsideBody)".contains("health_command_dir"), "\(outsideBody)")

            // Run every check twice, as the runner does (real probes), through the Gate.
            for _ in 0..<2 {
                try await server.gate.perform(
                    GateRequest(
                        token: root, path: "coffer/health/results", operation: .write, requestID: UUID().uuidString, remoteAddress: "test"),
                    status: { _ in 200 }
                ) { grant in
                    var results: [(HealthCheckDefinition, ProbeResult)] = []
                    for check in try await server.healthMonitor.checks(grant) { results.append((check, await Probes.run(check))) }
                    try await server.healthMonitor.record(grant, results, instance: "test")
                }
            }
            let data = try #require(
                try await client.answer(Health.Detail.self, "/v1/coffer/health", .get, token: tokens.reader.token).1.data)
            let checks = Dictionary(uniqueKeysWithValues: data.checks.map { ($0.name, $0) })
            #expect(checks["api-port"]?.status == "passing" && checks["api-port"]?.uptime24h == 100, "\(checks)")
            #expect(
                checks["cache-port"]?.status == "critical", "two failures with fail_after 2: \(String(describing: checks["cache-port"]))")
            #expect(checks["disk"]?.status == "warning" && checks["disk"]?.details.contains("91% used") == true)
            #expect(data.status == "critical" && data.components["host"] == "warning")

            // A maintenance window on the cache: its check reads maintenance and the overall status leaves it out.
            #expect(
                try await client.call(
                    "/v1/coffer/health/maintenance", token: tokens.reader.token,
                    ["component": "cache", "to": Date().timeIntervalSince1970 + 3600]
                ).0 == .forbidden)
            #expect(
                try await client.call(
                    "/v1/coffer/health/maintenance", token: tokens.writer.token,
                    ["component": "cache", "to": Date().timeIntervalSince1970 + 3600, "reason": "upgrade"]
                ).0 == .noContent)
            try await server.gate.perform(
                GateRequest(
                    token: root, path: "coffer/health/results", operation: .write, requestID: UUID().uuidString, remoteAddress: "test"),
                status: { _ in 200 }
            ) { grant in
                let checks = try await server.healthMonitor.checks(grant).filter { $0.name == "cache-port" }
                try await server.healthMonitor.record(
                    grant, checks.map { ($0, ProbeResult(result: .critical, latencyMs: 1, details: "refused")) }, instance: "test")
            }
            let during = try #require(
                try await client.answer(Health.Detail.self, "/v1/coffer/health", .get, token: tokens.reader.token).1.data)
            #expect(during.components["cache"] == "maintenance" && during.status == "warning", "\(during)")
            let (_, results) = try await client.answer(
                Health.Results.self, "/v1/coffer/health/checks/cache-port/results", .get, token: tokens.reader.token)
            #expect(results.data?.results.first?.status == "maintenance")

            // The dashboard's health overview view, per component.
            let (_, overview) = try await client.answer(Health.Overview.self, "/v1/coffer/health/report", .get, token: tokens.reader.token)
            let components = Dictionary(uniqueKeysWithValues: (overview.data?.components ?? []).map { ($0.component, $0) })
            #expect(
                components["cache"]?.maintenance == 1 && components["host"]?.warning == 1 && components["api"]?.critical == 0,
                "\(components)")

            // Probes for orchestrators: no token, no audit entry.
            #expect(try await client.call("/v1/coffer/health/live", .get, token: nil).0 == .ok)
            #expect(try await client.call("/v1/coffer/health/ready", .get, token: nil).0 == .ok)
            #expect(try await client.call("/v1/coffer/health", .get, token: nil).0 == .forbidden)
            #expect(try await server.auditEntries("coffer/health/checks").contains { $0.decision == "deny" && $0.status == 403 })

            // The console's uptime bar: hourly buckets against hand-computed shares. Results every minute: passing for
            // the hour from now-3h, critical for the next; none in the last hour, where the last critical result holds
            // for two intervals (60 s at most of it is observed, all down) and the first bucket saw nothing.
            let sample = """
                {"checks": [{"name": "uptime-sample", "component": "sample", "type": "tcp", "host": "127.0.0.1", "port": 1,
                  "interval": 60, "fail_after": 1}]}
                """
            #expect(
                try await client.execute(
                    uri: "/v1/coffer/health/checks?prune=false", method: .put, headers: [vaultToken: tokens.writer.token],
                    body: ByteBuffer(string: sample)
                ) { $0.status } == .ok)
            let now = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 / 60).rounded(.down) * 60)
            let buckets = try await server.gate.perform(
                GateRequest(
                    token: root, path: "coffer/health/results", operation: .write, requestID: UUID().uuidString, remoteAddress: "test"),
                status: { _ in 200 }
            ) { grant in
                let check = try #require(try await server.healthMonitor.checks(grant).first { $0.name == "uptime-sample" })
                for minute in 0..<120 {
                    let result: HealthStatus = minute < 60 ? .passing : .critical
                    try await server.healthMonitor.record(
                        grant, [(check, ProbeResult(result: result, latencyMs: 1, details: ""))], instance: "test",
                        at: now.addingTimeInterval(Double(minute * 60 - 3 * 3600)))
                }
                return try await server.healthMonitor.uptime(grant, name: "uptime-sample", buckets: 4, width: 3600, now: now)
            }
            #expect(buckets.map(\.percent) == [nil, 100, 0, 0], "\(buckets)")
            #expect(buckets.map(\.observed) == [0, 3600, 3600, 60], "\(buckets)")
        }
    }
}
