import CofferAccess
import CofferErrorLog
import CofferFoundation
@testable import CofferServer
import CofferServerTesting
import CofferStore
import CofferTesting
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

/// The retention pruner on both backends: each table loses what is older than its retention and nothing newer,
/// in batches (more rows than one batch), with issues keeping their counts and unfinished rotation runs kept;
/// each table's pass is audited as `service:retention-pruner`; `0` keeps a table forever.
struct RetentionTests {
    @Test(arguments: TestDatabase.backends)
    func eachTableKeepsWhatIsNewerThanItsRetention(_ backend: TestBackend) async throws {
        try await withUnsealedServer(backend) { server, _ in
            let now = WallClock.now.roundedToStoredPrecision
            let old = now.addingTimeInterval(-400 * 86_400), recent = now.addingTimeInterval(-86_400)
            try await Self.fill(server.database, old: old, recent: recent)
            // Error events through the module, as clients send them: 3 old and 2 recent of one issue.
            let events = [old, old, old, recent, recent].map {
                ErrorEvent(component: "billing", message: "payment failed", errorType: "Timeout", occurredAt: $0)
            }
            let logged = try await server.gate.perform(
                .service(.suiteMaintenance, path: "coffer/errors/events", operation: .write), status: { _ in 200 }
            ) { grant in try await server.errors.log(grant, events) }
            let issue = try #require(logged.first?.issueID)

            let pruner = Self.pruner(server, .defaults)
            let deleted = try await pruner.pass(now: now)
            #expect(
                deleted == ["system_health": 2_500, "alert_history": 1_200, "error_logs": 3, "rotation_runs": 2, "audit_log": 0],
                "\(deleted)")
            #expect(try await Self.count(server.database, "system_health") == 3)
            #expect(try await Self.count(server.database, "alert_history") == 2)
            #expect(try await Self.count(server.database, "error_logs") == 2)
            let runs = try await server.database.query("SELECT id FROM rotation_runs ORDER BY id").map { try $0.decode(String.self, at: 0) }
            #expect(runs == ["run-old-running", "run-recent"], "an unfinished run is kept whatever its age")
            let eventCount = try await server.database.read { conn in
                try conn.queryScalar(Int64.self, "SELECT event_count FROM error_issues WHERE id = \(issue)")
            }
            #expect(eventCount == 5, "the issue keeps its count")

            let trail = try await server.database.query(
                "SELECT path, decision FROM audit_log WHERE accessor = 'service:retention-pruner' AND kind = 'response' ORDER BY sequence")
            #expect(
                try trail.map { try $0.decode(String.self, at: 0) + " " + $0.decode(String.self, at: 1) } == [
                    "coffer/health/tidy allow", "coffer/alerts/tidy allow", "coffer/errors/tidy allow", "coffer/rotation/tidy allow",
                    "sys/audit-trail/tidy allow"
                ])
            #expect(try await pruner.pass(now: now).values.allSatisfy { $0 == 0 }, "a second pass finds nothing")

            // 0 keeps a table forever; the others still prune.
            try await Self.fill(server.database, old: old, recent: recent, suffix: "-again")
            let keeping = Self.pruner(server, try RetentionPolicy(parsing: "health=0,alerts=0,audit=0"))
            let second = try await keeping.pass(now: now)
            #expect(
                second["system_health"] == nil && second["alert_history"] == nil && second["audit_log"] == nil
                    && second["rotation_runs"] == 2,
                "\(second)")
            #expect(try await Self.count(server.database, "system_health") == 2_506)
        }
    }

    @Test func retentionSettings() throws {
        #expect(try RetentionPolicy(parsing: "") == .defaults)
        let parsed = try RetentionPolicy(parsing: "health=40d, errors=12h,alerts=0,rotation_runs=90m,audit=2d")
        #expect(
            parsed
                == RetentionPolicy(
                    healthResults: 40 * 86_400, errorEvents: 12 * 3600, alertHistory: 0, rotationRuns: 5_400, auditTrail: 172_800))
        #expect(parsed.description == "health=40d,errors=43200s,alerts=0,rotation_runs=5400s,audit=2d")
        #expect(RetentionPolicy.defaults.description == "health=32d,errors=90d,alerts=180d,rotation_runs=365d,audit=365d")
        for bad in ["health=30d", "audits=1d", "audit", "errors", "errors=", "errors=-1d", "errors=10w", "errors=1.5d", "errors=d"] {
            #expect(throws: ConfigurationError.self, "\(bad)") { try RetentionPolicy(parsing: bad) }
        }
    }

    /// The audit trail past its retention goes into the server's archive folder, as the service identity, and
    /// the trail (archive and table) still verifies, through the API as an auditor sees it.
    @Test(arguments: TestDatabase.backends)
    func auditEntriesAreArchivedNotDeleted(_ backend: TestBackend) async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("coffer-archive-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try await withUnsealedServer(backend, flags: .init(auditArchiveDir: folder)) { server, root in
            try await Application(router: server.makeRouter()).test(.router) { client in
                for index in 0..<20 {
                    #expect(try await client.call("/v1/secret/data/app/\(index)", .post, token: root, ["data": ["v": index]]).0 == .ok)
                }
                let before = try await Self.count(server.database, "audit_log")
                // A year and a day on, everything written so far is past the default retention.
                let later = WallClock.now.addingTimeInterval(366 * 86_400)
                let deleted = try await Self.pruner(server, .defaults).pass(now: later)
                let archived = try #require(deleted["audit_log"])
                // Every entry before the pass, and the pass's own entries up to the newest checkpoint.
                #expect(archived >= before && archived - before < 12, "\(deleted), \(before) entries before")
                let segments = try await AuditTrail(database: server.database).segments()
                #expect(!segments.isEmpty && segments.allSatisfy { FileManager.default.fileExists(atPath: "\(folder)/\($0.file)") })
                let facts = try await server.database.query(
                    "SELECT fields FROM audit_log WHERE path = 'sys/audit-trail/tidy' AND kind = 'response'"
                ).map { try $0.decode(String.self, at: 0) }
                #expect(facts.count == 1 && facts[0].contains(segments[0].file), "the pass names the segments it sealed: \(facts)")

                let (status, body) = try await client.answer(Trail.Verification.self, "/v1/sys/audit-trail/verify", .get, token: root)
                let data = try #require(body.data, "\(status) \(body.errors ?? [])")
                #expect(status == .ok && data.intact, "\(data.finding)")
                #expect(data.segments == segments.count && data.segmentFiles == segments.count)
                #expect(data.archivedEntries == archived && data.archive == folder)
            }
        }
    }

    static func pruner(_ server: CofferServer, _ policy: RetentionPolicy) -> RetentionPruner {
        RetentionPruner(
            gate: server.gate, policy: policy, health: server.healthMonitor, alerts: server.alerts, errors: server.errors,
            rotation: server.rotation, trail: AuditTrail(database: server.database),
            archive: AuditArchive(directory: server.configuration.auditArchiveDir), logger: Logger(label: "test"))
    }

    static func count(_ database: any Database, _ table: String) async throws -> Int {
        try await database.read { conn in try conn.queryScalar(Int.self, SQLQuery(unsafeSQL: "SELECT count(*) FROM \(table)")) ?? -1 }
    }

    /// 2,500 old and 3 recent health results, 1,200 old and 2 recent alert transitions, and rotation runs: two old
    /// finished ones, one old unfinished one, one recent finished one.
    static func fill(_ database: any Database, old: Date, recent: Date, suffix: String = "") async throws {
        try await database.transaction { conn in
            for index in 0..<2_503 {
                let at = index < 2_500 ? old.addingTimeInterval(Double(index)) : recent
                try conn.execute(
                    """
                    INSERT INTO system_health (check_name, component, result, status, latency_ms, details, instance, checked_at)
                    VALUES ('coffer', 'coffer', 'passing', 'passing', 1.5, 'ok', 'test', \(at))
                    """)
            }
            for index in 0..<1_202 {
                let at = index < 1_200 ? old : recent
                try conn.execute(
                    """
                    INSERT INTO alert_history (rule, group_key, state, summary, delivery, at)
                    VALUES ('errors', '', 'firing', 'burst', 'log: written', \(at))
                    """)
            }
            for (id, state, finished) in [
                ("run-old-succeeded", "succeeded", old), ("run-old-failed", "failed", old), ("run-old-running", "running", nil),
                ("run-recent", "succeeded", recent)
            ] as [(String, String, Date?)] {
                guard suffix.isEmpty || state != "running" && id != "run-recent" else { continue }
                try conn.execute(
                    """
                    INSERT INTO rotation_runs (id, secret_id, rotator, state, step, step_done, old_version, new_version, error, started_by,
                        started_at, updated_at, finished_at)
                    VALUES (\(id + suffix), 'secret/app/api', 'random', \(state), 'finish', \(true), 1, 2, NULL, 'test', \(old), \(old),
                        \(finished))
                    """)
            }
        }
    }
}
