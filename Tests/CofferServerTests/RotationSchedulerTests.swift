import CofferCrypto
import CofferFoundation
import CofferServerTesting
import CofferStore
import CofferTesting
import Foundation
import Testing

/// The service rotates due credentials on its own (no cron, no `make rotate`), as the service identity
/// `rotation-scheduler`; on one PostgreSQL, two instances that both schedule rotate each due credential once.
struct RotationSchedulerTests {
    /// `count` `coffer serve` processes on one new database, the first initialised with a key file and every
    /// one unsealed; the scheduler checks every second. Returns the processes, their ports and the root token.
    static func instances(_ scratch: TestDatabase.Scratch, count: Int, in folder: String, scheduler: Bool = true) async throws
        -> [(process: CofferProcess, port: Int)]
    {
        let environment = [
            "COFFER_DATABASE_URL": scratch.url, "COFFER_ROTATION_CHECK_INTERVAL": "1",
            "COFFER_ROTATION_SCHEDULER": scheduler ? "true" : "false"
        ]
        let serve = ["serve", "--listen", "127.0.0.1:0", "--log-format", "json"]
        let first = try CofferProcess(serve, in: folder, environment: environment)
        let firstPort = try MultiInstanceTests.port(from: try await first.waitForLine(containing: "coffer is serving"))
        let (_, initData) = try await MultiInstanceTests.raw(
            firstPort, "/v1/sys/init", method: "PUT", token: nil, body: ["unseal_method": "keyfile"])
        let initialised = try JSONDecoder().decode(Sys.InitKeys.self, from: initData)
        let key = try #require(initialised.keysBase64.first)
        #expect(try await MultiInstanceTests.request(firstPort, "/v1/sys/unseal", method: "PUT", body: ["key": key]).0 == 200)
        try initialised.rootToken.write(toFile: "\(folder)/root-token", atomically: true, encoding: .utf8)
        let keyFile = "\(folder)/unseal.key"
        #expect(FileManager.default.createFile(atPath: keyFile, contents: Data(key.utf8), attributes: [.posixPermissions: 0o600]))
        var started = [(first, firstPort)]
        for _ in 1..<count {
            let process = try CofferProcess(serve + ["--unseal-key-file", keyFile], in: folder, environment: environment)
            started.append((process, try MultiInstanceTests.port(from: try await process.waitForLine(containing: "coffer is serving"))))
        }
        return started
    }

    static func version(_ port: Int, _ root: String, _ path: String) async throws -> Int {
        let (status, body) = try await MultiInstanceTests.request(port, "/v1/secret/metadata/\(path)", token: root)
        #expect(status == 200, "\(body)")
        return (body["data"] as? [String: Any])?["current_version"] as? Int ?? 0
    }

    static func schedule(_ port: Int, _ root: String, _ path: String, interval: String) async throws {
        #expect(
            try await MultiInstanceTests.request(
                port, "/v1/secret/data/\(path)", method: "POST", token: root, body: ["data": ["value": "initial"]]
            ).0 == 200)
        let (status, body) = try await MultiInstanceTests.request(
            port, "/v1/secret/metadata/\(path)", method: "POST", token: root,
            body: ["rotation_kind": "random", "rotation_interval": interval])
        #expect(status == 204, "\(body)")
    }

    /// A credential falls due and is rotated by the service within a few checks; one that is not due is not;
    /// the run is audited as `service:rotation-scheduler`. With the scheduler off, nothing rotates on its own.
    @Test(arguments: TestDatabase.backends)
    func aDueCredentialIsRotatedWithoutCron(_ backend: TestBackend) async throws {
        for scheduler in [true, false] {
            let scratch = try await TestDatabase.create(backend)
            let folder = try TestDatabase.temporaryFolder()
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let running = try await Self.instances(scratch, count: 1, in: folder, scheduler: scheduler)
            let (process, port) = running[0]
            defer { process.terminate() }
            let root = try String(contentsOfFile: "\(folder)/root-token", encoding: .utf8)
            try await Self.schedule(port, root, "app/due", interval: "2s")
            try await Self.schedule(port, root, "app/later", interval: "1h")
            let deadline = ContinuousClock.now + .seconds(scheduler ? 20 : 5)
            while ContinuousClock.now < deadline, try await Self.version(port, root, "app/due") < 2 {
                try await Task.sleep(for: .milliseconds(200))
            }
            let rotated = try await Self.version(port, root, "app/due")
            #expect(scheduler ? rotated >= 2 : rotated == 1, "scheduler \(scheduler): version \(rotated)")
            #expect(try await Self.version(port, root, "app/later") == 1)
            process.terminate()
            #expect(try await process.waitForExit() == 0)

            let database = try await scratch.location.open(logger: TestDatabase.logger)
            let runs = try await database.query(
                "SELECT path, decision, fields FROM audit_log WHERE accessor = 'service:rotation-scheduler' AND kind = 'response'")
            #expect(scheduler ? !runs.isEmpty : runs.isEmpty, "scheduler \(scheduler): \(runs.count) runs")
            for run in runs {
                #expect(try run.decode(String.self, at: 0) == "coffer/rotation/run" && run.decode(String.self, at: 1) == "allow")
            }
            if scheduler {
                #expect(
                    try runs.contains { try $0.decode(String.self, at: 2).contains("secret/app/due") }, "the entry names what it rotated")
            }
            await database.close()
            try await scratch.drop()
        }
    }

    /// Two instances on one PostgreSQL, both checking every second, 12 credentials due every 3 s, for 12 s:
    /// every credential is rotated, and never twice for one due time: each succeeded run starts from a
    /// different version, the versions the runs made are the credential's versions, and two succeeded runs of
    /// one credential are at least most of an interval apart (a second instance rotating the same due time
    /// again would start within a second of the first).
    @Test(.enabled(if: TestDatabase.runsPostgres, "set COFFER_TEST_POSTGRES_URL to run against PostgreSQL"))
    func twoInstancesRotateEachDueCredentialOnce() async throws {
        let scratch = try await TestDatabase.create(.postgres)
        let folder = try TestDatabase.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let running = try await Self.instances(scratch, count: 2, in: folder)
        defer { for (process, _) in running { process.terminate() } }
        let root = try String(contentsOfFile: "\(folder)/root-token", encoding: .utf8)
        let paths = (0..<12).map { "app/credential-\($0)" }
        for (index, path) in paths.enumerated() {
            try await Self.schedule(running[index % 2].port, root, path, interval: "3s")
        }
        try await Task.sleep(for: .seconds(12))
        for (process, _) in running {
            process.terminate()
            #expect(try await process.waitForExit() == 0)
        }
        let database = try await scratch.location.open(logger: TestDatabase.logger)
        let rows = try await database.query(
            """
            SELECT r.secret_id, r.old_version, r.new_version, r.started_at, c.current_version FROM rotation_runs r
            JOIN api_credentials c ON c.id = r.secret_id WHERE r.state = 'succeeded' ORDER BY r.secret_id, r.started_at
            """)
        var bySecret: [String: [(old: Int64, new: Int64, started: Date, current: Int64)]] = [:]
        for row in rows {
            bySecret[try row.decode(String.self, at: 0), default: []].append(
                (
                    try row.decode(Int64.self, at: 1), try row.decode(Int64.self, at: 2), try row.decode(Date.self, at: 3),
                    try row.decode(Int64.self, at: 4)
                ))
        }
        #expect(Set(bySecret.keys) == Set(paths.map { "secret/" + $0 }))
        for (secret, runs) in bySecret {
            #expect(runs.count >= 2, "\(secret) rotated \(runs.count) times in 12 s with a 3 s interval")
            #expect(Set(runs.map(\.old)).count == runs.count, "\(secret): two runs from one version")
            #expect(runs.map(\.new) == runs.map { $0.old + 1 } && runs.last?.new == runs.last?.current, "\(secret): \(runs)")
            for (earlier, later) in zip(runs, runs.dropFirst()) {
                #expect(later.started.timeIntervalSince(earlier.started) > 2, "\(secret) rotated twice for one due time: \(runs)")
            }
        }
        await database.close()
        try await scratch.drop()
    }
}

/// Vault's static roles rotate on their `rotation_period` with nothing calling for it: a role on the real
/// PostgreSQL gets a new password, which logs in, and the old one stops working.
struct StaticRoleSchedulingTests {
    @Test(.enabled(if: TestDatabase.runsPostgres, "set COFFER_TEST_POSTGRES_URL to run against PostgreSQL"))
    func aStaticRoleRotatesOnItsPeriod() async throws {
        let url = try #require(TestDatabase.postgresURL)
        let role = "sched_static_\(Hex.encode(Random.bytes(4)))"
        let admin = try PostgresTarget(url: url, user: nil, password: nil)
        try admin.execute("CREATE ROLE \(try admin.identifier(role)) LOGIN PASSWORD 'initial-Pw-1'")
        defer { try? admin.execute("DROP ROLE IF EXISTS \(try admin.identifier(role))") }
        func logsIn(_ password: String) -> Bool {
            (try? PostgresTarget(url: url, user: role, password: password).execute("SELECT 1")) != nil
        }

        let scratch = try await TestDatabase.create(.sqlite)
        let folder = try TestDatabase.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let running = try await RotationSchedulerTests.instances(scratch, count: 1, in: folder)
        let (process, port) = running[0]
        defer { process.terminate() }
        let root = try String(contentsOfFile: "\(folder)/root-token", encoding: .utf8)
        let templated = url.replacingOccurrences(of: "postgres://coffer@", with: "postgresql://{{username}}:{{password}}@")
        let (configStatus, configBody) = try await MultiInstanceTests.request(
            port, "/v1/database/config/pg", method: "POST", token: root,
            body: [
                "plugin_name": "postgresql-database-plugin", "connection_url": templated, "username": "coffer",
                "password": "not-needed-by-trust", "allowed_roles": "app"
            ])
        #expect(configStatus == 204, "\(configBody)")
        let (roleStatus, roleBody) = try await MultiInstanceTests.request(
            port, "/v1/database/static-roles/app", method: "POST", token: root,
            body: ["db_name": "pg", "username": role, "rotation_period": "5s"])
        #expect(roleStatus == 204, "\(roleBody)")
        func credentials() async throws -> (password: String, rotated: String) {
            let (status, body) = try await MultiInstanceTests.request(port, "/v1/database/static-creds/app", token: root)
            let data = try #require(body["data"] as? [String: Any], "\(status) \(body)")
            return (try #require(data["password"] as? String), try #require(data["last_vault_rotation"] as? String))
        }
        let first = try await credentials()
        #expect(logsIn(first.password) && !logsIn("initial-Pw-1"), "creating the static role rotated it at once")
        let deadline = ContinuousClock.now + .seconds(25)
        var next = first
        while ContinuousClock.now < deadline, next.password == first.password {
            try await Task.sleep(for: .milliseconds(500))
            next = try await credentials()
        }
        #expect(next.password != first.password && next.rotated != first.rotated, "no rotation within 25 s of a 5 s period")
        #expect(logsIn(next.password), "the scheduled password works")
        #expect(!logsIn(first.password), "the one before it is refused")
        process.terminate()
        #expect(try await process.waitForExit() == 0)
        try await scratch.drop()
    }
}
