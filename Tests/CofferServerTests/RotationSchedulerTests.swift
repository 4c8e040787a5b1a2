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
    /// On PostgreSQL instance `n`'s sessions are named `coffer-instance-n` (libpq's `application_name`), so a
    /// test can tell from `pg_stat_activity` which instance a session belongs to.
    static func instances(_ scratch: TestDatabase.Scratch, count: Int, in folder: String, scheduler: Bool = true) async throws
        -> [(process: CofferProcess, port: Int)]
    {
        func environment(_ instance: Int) -> [String: String] {
            var url = scratch.url
            if case .postgres = scratch.location { url += (url.contains("?") ? "&" : "?") + "application_name=coffer-instance-\(instance)" }
            return [
                "COFFER_DATABASE_URL": url, "COFFER_ROTATION_CHECK_INTERVAL": "1",
                "COFFER_ROTATION_SCHEDULER": scheduler ? "true" : "false"
            ]
        }
        let serve = ["serve", "--listen", "127.0.0.1:0", "--log-format", "json"]
        let first = try CofferProcess(serve, in: folder, environment: environment(0))
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
        for instance in 1..<count {
            let process = try CofferProcess(serve + ["--unseal-key-file", keyFile], in: folder, environment: environment(instance))
            started.append((process, try MultiInstanceTests.port(from: try await process.waitForLine(containing: "coffer is serving"))))
        }
        return started
    }

    static func version(_ port: Int, _ root: String, _ path: String) async throws -> Int {
        let (status, body) = try await MultiInstanceTests.answer(KV.Metadata.self, port, "/v1/secret/metadata/\(path)", token: root)
        #expect(status == 200, "\(body.errors ?? [])")
        return body.data?.currentVersion ?? 0
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

    /// Every scheduled credential's current version, by id.
    static func versions(_ database: any Database) async throws -> [String: Int64] {
        var versions: [String: Int64] = [:]
        for row in try await database.query("SELECT id, current_version FROM api_credentials WHERE rotation_kind IS NOT NULL") {
            versions[try row.decode(String.self, at: 0)] = try row.decode(Int64.self, at: 1)
        }
        return versions
    }

    /// Makes the credentials `ids` due now, as their `next_rotation_at` arriving would, so the test sees the
    /// scheduler act without waiting for an interval to pass; that an interval sets the next due time is
    /// RotationTests' (in-process, on ManualTime). The column is scheduling state, not part of the sealed record.
    static func makeDue(_ database: any Database, _ ids: [String]) async throws {
        for id in ids {
            #expect(
                try await database.execute(
                    "UPDATE api_credentials SET next_rotation_at = \(Date(timeIntervalSinceNow: -1)) WHERE id = \(id)") == 1)
        }
    }

    /// One `coffer serve` on its own database, with its root token and a connection to that database.
    struct Instance {
        let scratch: TestDatabase.Scratch
        let folder: String
        let process: CofferProcess
        let port: Int
        let root: String
        let database: any Database

        static func start(_ backend: TestBackend, scheduler: Bool) async throws -> Instance {
            let scratch = try await TestDatabase.create(backend)
            let folder = try TestDatabase.temporaryFolder()
            let (process, port) = try await RotationSchedulerTests.instances(scratch, count: 1, in: folder, scheduler: scheduler)[0]
            return Instance(
                scratch: scratch, folder: folder, process: process, port: port,
                root: try String(contentsOfFile: "\(folder)/root-token", encoding: .utf8),
                database: try await scratch.location.open(logger: TestDatabase.logger))
        }

        /// Stops the process (it must exit cleanly) and returns the scheduler's audited runs.
        func stop() async throws -> [SQLRow] {
            process.terminate()
            #expect(try await process.waitForExit() == 0)
            return try await database.query(
                "SELECT path, decision, fields FROM audit_log WHERE accessor = 'service:rotation-scheduler' AND kind = 'response'")
        }

        func remove() async throws {
            await database.close()
            try? FileManager.default.removeItem(atPath: folder)
            try await scratch.drop()
        }
    }

    /// A credential made due is rotated by the service within a check, as the service identity
    /// `rotation-scheduler`; one that is not due is not. A twin instance with the scheduler off has its copy
    /// made due first and keeps it unrotated while the scheduler-on twin rotates three times, each after a check
    /// that came after its credential was made due: the off twin had time for as many checks as that took.
    @Test(arguments: TestDatabase.backends)
    func aDueCredentialIsRotatedWithoutCron(_ backend: TestBackend) async throws {
        let off = try await Instance.start(backend, scheduler: false)
        defer { off.process.terminate() }
        let on = try await Instance.start(backend, scheduler: true)
        defer { on.process.terminate() }
        for twin in [off, on] {
            try await Self.schedule(twin.port, twin.root, "app/due", interval: "1h")
            try await Self.schedule(twin.port, twin.root, "app/later", interval: "1h")
        }
        try await Self.makeDue(off.database, ["secret/app/due"])
        for round in 1...3 {
            try await Self.makeDue(on.database, ["secret/app/due"])
            let rotated = try await eventually { try await Self.version(on.port, on.root, "app/due") > round }
            #expect(rotated, "round \(round): the due credential was not rotated within 30 s")
            guard rotated else { break }
        }
        #expect(try await Self.version(on.port, on.root, "app/due") == 4, "rotated once for each time it was due")
        #expect(try await Self.version(on.port, on.root, "app/later") == 1)
        #expect(try await Self.version(off.port, off.root, "app/due") == 1, "rotated with the scheduler off")

        #expect(try await off.stop().isEmpty, "the scheduler ran while off")
        let runs = try await on.stop()
        #expect(!runs.isEmpty)
        for run in runs {
            #expect(try run.decode(String.self, at: 0) == "coffer/rotation/run" && run.decode(String.self, at: 1) == "allow")
        }
        #expect(try runs.contains { try $0.decode(String.self, at: 2).contains("secret/app/due") }, "the entry names what it rotated")
        try await off.remove()
        try await on.remove()
    }

    /// Two instances on one PostgreSQL, both checking every second; 24 credentials (three times a run's
    /// parallelism) are made due together, four times. Each time, the test holds back the runs' first write (an
    /// exclusive lock on `rotation_runs`) until both instances have listed the credentials as due and wait on
    /// it, so every round is the race: both work through the same list, which goes stale as the other rotates.
    /// Every credential is rotated exactly once for each time it was due (four succeeded runs, from versions 1
    /// to 4, each making the next); with the check under the lock removed, credentials are rotated again.
    @Test(.enabled(if: TestDatabase.runsPostgres, "set COFFER_TEST_POSTGRES_URL to run against PostgreSQL"))
    func twoInstancesRotateEachDueCredentialOnce() async throws {
        let scratch = try await TestDatabase.create(.postgres)
        let folder = try TestDatabase.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let running = try await Self.instances(scratch, count: 2, in: folder)
        defer { for (process, _) in running { process.terminate() } }
        let root = try String(contentsOfFile: "\(folder)/root-token", encoding: .utf8)
        let paths = (0..<24).map { "app/credential-\($0)" }
        for (index, path) in paths.enumerated() {
            try await Self.schedule(running[index % 2].port, root, path, interval: "1h")
        }
        let database = try await scratch.location.open(logger: TestDatabase.logger)
        let ids = paths.map { "secret/" + $0 }
        let rounds = 4
        for round in 1...rounds {
            let holder = try PostgresTarget(url: scratch.url, user: nil, password: nil)
            try holder.execute("BEGIN")
            try holder.execute("LOCK TABLE rotation_runs IN EXCLUSIVE MODE")
            try await Self.makeDue(database, ids)
            let bothWait = try await eventually {
                try await database.query(
                    """
                    SELECT DISTINCT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                    WHERE l.relation = 'rotation_runs'::regclass AND NOT l.granted
                    """
                ).count == running.count
            }
            try holder.execute("COMMIT")
            #expect(bothWait, "round \(round): both instances did not reach the runs' table within 30 s")
            let done = try await eventually {
                let versions = try await Self.versions(database)
                return ids.allSatisfy { versions[$0, default: 0] > round }
            }
            let versions = try await Self.versions(database)
            #expect(done, "round \(round): not every credential was rotated within 30 s: \(versions)")
            guard bothWait && done else { break }
        }
        for (process, _) in running {
            process.terminate()
            #expect(try await process.waitForExit() == 0)
        }
        #expect(try await Self.versions(database) == Dictionary(uniqueKeysWithValues: ids.map { ($0, Int64(rounds + 1)) }))
        let rows = try await database.query(
            """
            SELECT secret_id, old_version, new_version FROM rotation_runs WHERE state = 'succeeded'
            ORDER BY secret_id, old_version
            """)
        var bySecret: [String: [[Int64]]] = [:]
        for row in rows {
            bySecret[try row.decode(String.self, at: 0), default: []].append(
                [try row.decode(Int64.self, at: 1), try row.decode(Int64.self, at: 2)])
        }
        let expected = (1...Int64(rounds)).map { [$0, $0 + 1] }
        #expect(bySecret == Dictionary(uniqueKeysWithValues: ids.map { ($0, expected) }), "each due time rotated once")
        await database.close()
        try await scratch.drop()
    }
}

/// Vault's static roles rotate on their `rotation_period` with nothing calling for it: the period sets the
/// next rotation (`ttl`), and when that time comes (made to come: the role's credential is made due in the
/// database) a role on the real PostgreSQL gets a new password, which logs in, and the old one stops working.
struct StaticRoleSchedulingTests {
    /// `database/static-creds/<role>` as a client reads it.
    struct StaticCredentials: Decodable {
        let password: String
        let lastVaultRotation: String
        /// Seconds until the next rotation.
        let ttl: Int

        enum CodingKeys: String, CodingKey {
            case password, ttl
            case lastVaultRotation = "last_vault_rotation"
        }
    }

    @Test(.enabled(if: TestDatabase.runsPostgres, "set COFFER_TEST_POSTGRES_URL to run against PostgreSQL"))
    func aStaticRoleRotatesWhenDue() async throws {
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
            body: ["db_name": "pg", "username": role, "rotation_period": "1h"])
        #expect(roleStatus == 204, "\(roleBody)")
        func credentials() async throws -> StaticCredentials {
            let (status, body) = try await MultiInstanceTests.answer(
                StaticCredentials.self, port, "/v1/database/static-creds/app", token: root)
            return try #require(body.data, "\(status) \(body.errors ?? [])")
        }
        let first = try await credentials()
        #expect(logsIn(first.password) && !logsIn("initial-Pw-1"), "creating the static role rotated it at once")
        #expect((3_500...3_600).contains(first.ttl), "the next rotation is a period away: ttl \(first.ttl)")
        let database = try await scratch.location.open(logger: TestDatabase.logger)
        try await RotationSchedulerTests.makeDue(database, ["database-static/app"])
        await database.close()
        var next = first
        let rotated = try await eventually {
            next = try await credentials()
            return next.password != first.password
        }
        #expect(rotated && next.lastVaultRotation != first.lastVaultRotation, "the due role was not rotated within 30 s")
        #expect((3_500...3_600).contains(next.ttl), "the next rotation is again a period away: ttl \(next.ttl)")
        #expect(logsIn(next.password), "the scheduled password works")
        #expect(!logsIn(first.password), "the one before it is refused")
        process.terminate()
        #expect(try await process.waitForExit() == 0)
        try await scratch.drop()
    }
}
