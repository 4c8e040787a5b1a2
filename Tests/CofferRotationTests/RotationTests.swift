import CofferAccess
import CofferCrypto
@testable import CofferEngines
import CofferFoundation
import CofferHTTP
import CofferKeys
@testable import CofferRotation
import CofferServer
import CofferServerTesting
import CofferStore
import CofferTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// Staged rotation through `/v1/coffer/rotation/…` on SQLite and a real PostgreSQL: labels, the runner's
/// policy, due selection, failures and backoff, the lock, and concurrent runs.
struct RotationTests {
    static let policies = #filePath.components(separatedBy: "/Tests/")[0] + "/Policies"

    @Test(arguments: TestDatabase.backends)
    func rotation(_ backend: TestBackend) async throws { try await withUnsealedServer(backend, rotationContract) }

    func rotationContract(_ server: CofferServer, _ root: String) async throws {
        try await Application(router: server.makeRouter()).test(.router) { client in
            let runnerPolicy = try String(contentsOfFile: Self.policies + "/rotation-runner.hcl", encoding: .utf8)
            #expect(
                try await client.call("/v1/sys/policies/acl/rotation-runner", .put, token: root, ["policy": runnerPolicy]).0 == .noContent)
            let runner = try await client.createToken(parent: root, ["policies": ["rotation-runner"], "no_default_policy": true]).token
            try await client.call("/v1/secret/data/app/api", token: root, ["data": ["value": "old-value", "user": "svc"]])

            // Settings are checked against the rotator when written; a refused write changes nothing.
            let (badStatus, badBody) = try await client.call(
                "/v1/secret/metadata/app/api", token: root,
                ["rotation_kind": "random", "rotation_settings": ["length": 3]])
            #expect(badStatus == .badRequest && "\(badBody)".contains("length must be an integer from 8 to 4096"), "\(badBody)")
            let (unknownStatus, unknownBody) = try await client.call(
                "/v1/secret/metadata/app/api", token: root, ["rotation_kind": "carrier-pigeon"])
            #expect(unknownStatus == .badRequest && "\(unknownBody)".contains("unknown rotation_kind"), "\(unknownBody)")
            #expect(try await client.kvMetadata(root, "app/api").rotationKind == "")
            // Not rotatable yet: a clear 400.
            let (noKind, noKindBody) = try await client.call("/v1/coffer/rotation/rotate/secret/app/api", token: runner)
            #expect(noKind == .badRequest && "\(noKindBody)".contains("has no rotation_kind"), "\(noKindBody)")

            try await client.call(
                "/v1/secret/metadata/app/api", token: root,
                [
                    "rotation_kind": "random", "rotation_interval": "1h",
                    "rotation_settings": ["length": 40, "alphabet": "hex", "require": ["digit", "lower"]]
                ])
            // A cron schedule instead of an interval: checked when written, due at its next minute.
            let (cronStatus, cronBody) = try await client.call(
                "/v1/secret/metadata/app/api", token: root, ["rotation_schedule": "61 * * * *"])
            #expect(cronStatus == .badRequest && "\(cronBody)".contains("minute"), "\(cronBody)")
            try await client.call("/v1/secret/metadata/app/api", token: root, ["rotation_schedule": "0 3 * * *"])
            let cron = try await client.kvMetadata(root, "app/api")
            #expect(
                cron.rotationSchedule == "0 3 * * *" && cron.nextRotationTime?.contains("T03:00:00") == true, "\(cron)")
            try await client.call("/v1/secret/metadata/app/api", token: root, ["rotation_schedule": "", "rotation_interval": "1h"])
            // Not due for an hour: a dry run lists nothing.
            #expect(try await client.rotate(runner, "/v1/coffer/rotation/run", ["dry_run": true]).isEmpty)

            // Rotate now: current moves to version 2; the other fields stay; previous still reads the old value.
            let outcome = try #require(try await client.rotate(runner, "/v1/coffer/rotation/rotate/secret/app/api").first)
            #expect(
                outcome.result == "rotated" && outcome.oldVersion == 1 && outcome.newVersion == 2 && outcome.step == "finish", "\(outcome)")
            let current = try await client.kvRead(root, "app/api")
            let newValue = try #require(current["value"]?.string, "\(current)")
            #expect(newValue.count == 40 && newValue.allSatisfy { "0123456789abcdef".contains($0) } && current["user"] == .string("svc"))
            #expect(try await client.kvRead(root, "app/api", query: "?label=previous")["value"] == .string("old-value"))
            #expect(try await client.kvRead(root, "app/api", query: "?label=current")["value"] == .string(newValue))
            #expect(try await client.call("/v1/secret/data/app/api?label=pending", .get, token: root).0 == .notFound)
            #expect(try await client.call("/v1/secret/data/app/api?label=newest", .get, token: root).0 == .badRequest)
            let afterFirst = try await client.kvMetadata(root, "app/api")
            #expect(afterFirst.currentVersion == 2 && afterFirst.previousVersion == .integer(1) && afterFirst.pendingVersion == .null)
            #expect(afterFirst.lastRotatedTime?.isEmpty == false && afterFirst.nextRotationTime?.isEmpty == false)

            // The runner rotates but cannot write secrets; a reader cannot rotate.
            #expect(try await client.call("/v1/secret/data/app/api", token: runner, ["data": ["value": "x"]]).0 == .forbidden)
            try await client.call(
                "/v1/sys/policies/acl/app-reader", .put, token: root, ["policy": #"path "secret/data/app/*" { capabilities = ["read"] }"#])
            let reader = try await client.createToken(parent: root, ["policies": ["app-reader"]]).token
            #expect(try await client.call("/v1/coffer/rotation/rotate/secret/app/api", token: reader).0 == .forbidden)

            // Every step is audited, and the trail holds no value in the clear.
            let steps = try await server.database.read { conn in
                try conn.query(
                    """
                    SELECT operation FROM audit_log WHERE kind = 'event' AND path = 'coffer/rotation/rotate/secret/app/api' ORDER
                    BY sequence
                    """
                )
                .map { try $0.decode(String.self, at: 0) }
            }
            #expect(steps == ["rotate.create", "rotate.set", "rotate.test", "rotate.finish"])
            let leaks = try await server.database.read { conn in
                try conn.queryScalar(
                    Int.self, "SELECT count(*) FROM audit_log WHERE fields LIKE \("%" + newValue + "%") OR fields LIKE '%old-value%'")
            }
            #expect(leaks == 0)

            // Due by schedule: the run rotates it; the same idempotency key again does not rotate twice.
            try await server.database.transaction { conn in
                _ = try conn.execute(
                    "UPDATE api_credentials SET next_rotation_at = \(Date(timeIntervalSinceNow: -5)) WHERE id = 'secret/app/api'")
            }
            #expect(try await client.rotate(runner, "/v1/coffer/rotation/run", ["dry_run": true]).map(\.result) == ["due"])
            #expect(try await client.rotate(runner, "/v1/coffer/rotation/run", ["idempotency_key": "nightly-1"]).map(\.newVersion) == [3])
            try await server.database.transaction { conn in
                _ = try conn.execute(
                    "UPDATE api_credentials SET next_rotation_at = \(Date(timeIntervalSinceNow: -5)) WHERE id = 'secret/app/api'")
            }
            let replay = try await client.rotate(runner, "/v1/coffer/rotation/run", ["idempotency_key": "nightly-1"])
            #expect(replay.map(\.newVersion) == [3], "the same key answers the finished run: \(replay)")
            #expect(try await client.kvMetadata(root, "app/api").currentVersion == 3)

            // A lock held by another run: refused as locked; once it expires, taken over.
            try await server.database.transaction { conn in
                _ = try conn.execute(
                    """
                    INSERT INTO rotation_locks (secret_id, holder, expires_at) VALUES ('secret/app/api', 'rot_other',
                    \(Date(timeIntervalSinceNow: 60)))
                    """
                )
            }
            #expect(try await client.rotate(runner, "/v1/coffer/rotation/rotate/secret/app/api").map(\.result) == ["locked"])
            try await server.database.transaction { conn in
                _ = try conn.execute(
                    "UPDATE rotation_locks SET expires_at = \(Date(timeIntervalSinceNow: -1)) WHERE secret_id = 'secret/app/api'")
            }
            #expect(try await client.rotate(runner, "/v1/coffer/rotation/rotate/secret/app/api").map(\.result) == ["rotated"])

            // Rotations keep max_versions like writes do, and never trim the previous version.
            try await client.call("/v1/secret/metadata/app/api", token: root, ["max_versions": 1])
            try await client.call("/v1/coffer/rotation/rotate/secret/app/api", token: runner)
            let trimmed = try await client.kvMetadata(root, "app/api")
            let kept = trimmed.versions.keys.compactMap { Int($0) }.sorted()
            let currentNow = trimmed.currentVersion
            #expect(kept == [currentNow - 1, currentNow] && trimmed.oldestVersion == currentNow - 1, "\(trimmed)")
            #expect(try await client.call("/v1/secret/data/app/api?label=previous", .get, token: root).0 == .ok)
            try await client.call("/v1/secret/metadata/app/api", token: root, ["max_versions": 0])

            // Runs at once: each rotates or finds the lock held; versions never repeat, none is skipped.
            let before = try await client.kvMetadata(root, "app/api").currentVersion
            let outcomes = try await withThrowingTaskGroup(of: (result: String, old: Int).self) { group in
                for _ in 0..<6 {
                    group.addTask {
                        let outcome = try await client.rotate(runner, "/v1/coffer/rotation/rotate/secret/app/api").first
                        return (outcome?.result ?? "none", outcome?.oldVersion ?? -1)
                    }
                }
                var all: [(result: String, old: Int)] = []
                for try await outcome in group { all.append(outcome) }
                return all
            }
            let rotated = outcomes.filter { $0.result == "rotated" }
            #expect(rotated.count >= 1 && outcomes.allSatisfy { ["rotated", "locked"].contains($0.result) }, "\(outcomes)")
            #expect(Set(rotated.map(\.old)).count == rotated.count, "no two runs rotated from one version")
            #expect(try await client.kvMetadata(root, "app/api").currentVersion == before + rotated.count)

            // A failing run rolls back, counts the failure, backs off, and says why; the current value still reads.
            try await client.call("/v1/secret/data/app/broken", token: root, ["data": ["value": "keep-me"]])
            try await client.call("/v1/secret/metadata/app/broken", token: root, ["rotation_kind": "random", "rotation_interval": "1h"])
            try await client.call("/v1/secret/delete/app/broken", token: root, ["versions": [1]])
            let failed = try #require(try await client.rotate(runner, "/v1/coffer/rotation/rotate/secret/app/broken").first)
            #expect(failed.result == "failed" && failed.error?.contains("deleted or destroyed") == true, "\(failed)")
            let brokenMetadata = try await client.kvMetadata(root, "app/broken")
            #expect(
                brokenMetadata.rotationFailures == 1 && brokenMetadata.currentVersion == 1 && brokenMetadata.pendingVersion == .null)
            try await server.database.transaction { conn in
                _ = try conn.execute(
                    "UPDATE api_credentials SET next_rotation_at = \(Date(timeIntervalSinceNow: -5)) WHERE id = 'secret/app/broken'")
            }
            let backingOff = try await client.rotate(runner, "/v1/coffer/rotation/run", ["dry_run": true])
            #expect(!backingOff.contains { $0.path == "secret/app/broken" }, "backing off: \(backingOff)")
            let (_, statusBody) = try await client.answer(Rotation.Status.self, "/v1/coffer/rotation/status", .get, token: runner)
            let broken = try #require(statusBody.data?.credentials.first { $0.path == "secret/app/broken" })
            #expect(broken.failures == 1 && !broken.lastError.isEmpty && !broken.retryTime.isEmpty)

            // A manual write during a rotation wins; the rotation's finish refuses to move current.
            try await client.call("/v1/secret/undelete/app/broken", token: root, ["versions": [1]])
            let conflict = try await server.gate.perform(
                GateRequest(
                    token: root, path: "coffer/rotation/rotate/secret/app/broken", operation: .rotate, requestID: "t",
                    remoteAddress: "local"),
                status: { _ in 200 }
            ) { grant -> String in
                let path = try SecretPath(mount: "secret", path: "app/broken")
                let pending = try await server.credentials.writePending(
                    grant, path, data: SecureHandle(SecureBytes(copying: Array(#"{"value":"p"}"#.utf8))),
                    expectedCurrent: 1)
                return try await client.call("/v1/secret/data/app/broken", token: root, ["data": ["value": "manual"]]).0 == .ok
                    ? (try? await server.credentials.promotePending(grant, path, pending: pending, from: 1, grace: 60)).map { "\($0)" }
                        ?? "refused"
                    : "write failed"
            }
            #expect(conflict == "refused")
            #expect(try await client.kvRead(root, "app/broken")["value"] == .string("manual"))
            // The step events sit in the hash chain like any entry.
            #expect(try await server.verifyTrail().isIntact)
        }
    }
}

/// A rotation killed (`SIGKILL`, as `kill -9`) before and after each step is resumed by the next run, with
/// the real binaries: the store ends with the new value current, the old one previous, nothing pending.
/// And a step that fails is rolled back, with `coffer rotate` exiting non-zero.
struct RotationCrashTests {
    /// Moves every rotation lock's expiry into the past, as the dead run's TTL (60 s) running out would, so the
    /// next run may take it over without the test waiting for the clock. That a lock is refused until it
    /// expires and taken over after is RotationTests' (in-process, the same rows).
    static func expireLocks(in folder: String) async throws {
        let database = try await DatabaseLocation(parsing: "sqlite:\(folder)/data/coffer.db").open(logger: TestDatabase.logger)
        _ = try await database.execute("UPDATE rotation_locks SET expires_at = \(Date(timeIntervalSinceNow: -1))")
        await database.close()
    }

    @Test func killedAtEveryStepThenResumed() async throws {
        let folder = try TestDatabase.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let base = ["COFFER_DATABASE_URL": "sqlite:./data/coffer.db"]
        var (serve, port) = try await CofferProcess.serve(["--dev"], in: folder, environment: base)
        let root = try String(contentsOfFile: "\(folder)/data/dev-root-token", encoding: .utf8)
        func run(_ arguments: [String]) async throws -> (Int32, String) {
            try await CofferProcess.run(
                arguments, in: folder, environment: ["COFFER_ADDR": "http://127.0.0.1:\(port)", "COFFER_TOKEN": root])
        }
        #expect(try await run(["kv", "put", "app/api", "value=start"]).0 == 0)
        #expect(try await run(["kv", "metadata", "put", "--rotation-kind", "random", "--rotation-interval", "1h", "app/api"]).0 == 0)
        var expectedVersion = 1
        for point in [
            "create.before", "create.after", "set.before", "set.after", "test.before", "test.after", "finish.before", "finish.after"
        ] {
            let before = try await run(["kv", "get", "-field=value", "app/api"]).1
            serve.terminate()
            _ = try await serve.waitForExit()
            (serve, port) = try await CofferProcess.serve(
                ["--dev"], in: folder, environment: base.merging(["COFFER_FAILPOINTS": "rotation.\(point)=crash"]) { $1 })
            let (crashed, _) = try await run(["rotate", "--secret", "secret/app/api"])
            #expect(crashed != 0, "\(point): the run died with the service")
            // Foundation reports a process ended by a signal with the signal's number.
            #expect(try await serve.waitForExit() == SIGKILL, "\(point): the service killed itself at the failpoint")
            (serve, port) = try await CofferProcess.serve(["--dev"], in: folder, environment: base)
            try await Self.expireLocks(in: folder) // the dead run's lock, as its TTL running out leaves it
            let (status, statusOutput) = try await run(["rotate", "status"])
            #expect(
                status == 0 && statusOutput.contains(String(point.split(separator: ".")[0])),
                "the unfinished step, \(point): \(statusOutput)")
            let (resumed, output) = try await run(["rotate", "--secret", "secret/app/api"])
            // Killed after finish moved current, the resumed run only records the end: one new version either way.
            expectedVersion += 1
            #expect(resumed == 0 && output.contains("rotated"), "\(point): \(output)")
            let (_, json) = try await run(["kv", "metadata", "get", "-format=json", "app/api"])
            let metadata = try #require(try VaultAnswer<KV.Metadata>(json: json).data)
            #expect(metadata.currentVersion == expectedVersion && metadata.pendingVersion == .null, "\(point): \(metadata)")
            let after = try await run(["kv", "get", "-field=value", "app/api"]).1
            #expect(after != before && after.count == 33, "\(point): a new 32-character value is current")
            let previous = try await run(["kv", "get", "-field=value", "-label=previous", "app/api"])
            #expect(previous.0 == 0 && !previous.1.isEmpty, "\(point): \(previous.1)")
            let unfinished = try await run(["rotate", "status", "--json"]).1
            #expect(unfinished.contains(#""unfinished_run":"""#), "\(point): \(unfinished)")
        }

        // A test step that fails: rolled back, current unchanged, failure counted, exit status 1.
        serve.terminate()
        _ = try await serve.waitForExit()
        (serve, port) = try await CofferProcess.serve(
            ["--dev"], in: folder, environment: base.merging(["COFFER_FAILPOINTS": "rotation.test.before=error"]) { $1 })
        defer { serve.terminate() }
        let value = try await run(["kv", "get", "-field=value", "app/api"]).1
        let (failed, failedOutput) = try await run(["rotate", "--secret", "secret/app/api"])
        #expect(
            failed == 1 && failedOutput.contains("failed") && failedOutput.contains("fault injected at rotation.test.before"),
            "\(failedOutput)")
        #expect(try await run(["kv", "get", "-field=value", "app/api"]).1 == value)
        let (_, json) = try await run(["kv", "metadata", "get", "-format=json", "app/api"])
        let metadata = try #require(try VaultAnswer<KV.Metadata>(json: json).data)
        #expect(metadata.currentVersion == expectedVersion && metadata.pendingVersion == .null && metadata.rotationFailures == 1)
    }
}

/// `kill -9` where the target is involved, with `postgres-password` on the real PostgreSQL: after the next
/// run, the password the store calls current is the one that logs in, and the previous one is refused.
struct PostgresRotationCrashTests {
    @Test(.enabled(if: TestDatabase.runsPostgres, "set COFFER_TEST_POSTGRES_URL to run against PostgreSQL"))
    func killedAroundTheTargetSteps() async throws {
        let url = try #require(TestDatabase.postgresURL)
        let role = "rot_crash_\(Hex.encode(Random.bytes(4)))"
        let admin = try PostgresTarget(url: url, user: nil, password: nil)
        try admin.execute("CREATE ROLE \(try admin.identifier(role)) LOGIN PASSWORD 'initial-Pw-1'")
        defer { try? admin.execute("DROP ROLE IF EXISTS \(try admin.identifier(role))") }
        let folder = try TestDatabase.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let base = ["COFFER_DATABASE_URL": "sqlite:./data/coffer.db"]
        var (serve, port) = try await CofferProcess.serve(["--dev"], in: folder, environment: base)
        let root = try String(contentsOfFile: "\(folder)/data/dev-root-token", encoding: .utf8)
        func run(_ arguments: [String]) async throws -> (Int32, String) {
            try await CofferProcess.run(
                arguments, in: folder, environment: ["COFFER_ADDR": "http://127.0.0.1:\(port)", "COFFER_TOKEN": root])
        }
        #expect(try await run(["kv", "put", "db/admin", "connection_url=\(url)", "username=coffer", "password=trust"]).0 == 0)
        #expect(try await run(["kv", "put", "db/app", "username=\(role)", "password=initial-Pw-1"]).0 == 0)
        #expect(
            try await run([
                "kv", "metadata", "put", "--rotation-kind", "postgres-password", "--rotation-settings",
                #"{"admin_secret":"secret/db/admin"}"#,
                "db/app"
            ]).0 == 0)
        for point in ["set.before", "set.after", "test.after", "finish.before"] {
            serve.terminate()
            _ = try await serve.waitForExit()
            (serve, port) = try await CofferProcess.serve(
                ["--dev"], in: folder, environment: base.merging(["COFFER_FAILPOINTS": "rotation.\(point)=crash"]) { $1 })
            #expect(try await run(["rotate", "--secret", "secret/db/app"]).0 != 0, "\(point): the run died with the service")
            _ = try await serve.waitForExit()
            (serve, port) = try await CofferProcess.serve(["--dev"], in: folder, environment: base)
            try await RotationCrashTests.expireLocks(in: folder)
            let (resumed, output) = try await run(["rotate", "--secret", "secret/db/app"])
            #expect(resumed == 0, "\(point): \(output)")
            let current = try await run(["kv", "get", "-field=password", "db/app"]).1.trimmingCharacters(in: .newlines)
            let previous = try await run(["kv", "get", "-field=password", "-label=previous", "db/app"]).1.trimmingCharacters(in: .newlines)
            #expect(
                (try? PostgresTarget(url: url, user: role, password: current).execute("SELECT 1")) != nil,
                "\(point): the current password logs in")
            #expect(
                (try? PostgresTarget(url: url, user: role, password: previous).execute("SELECT 1")) == nil,
                "\(point): the previous one is refused")
        }
        serve.terminate()
        _ = try await serve.waitForExit()
    }
}

/// The PostgreSQL rotators against the real server the tests run (its non-superuser roles log in with
/// SCRAM passwords, scripts/postgres-test-server.sh): the new password works, the old one is refused, a
/// target that is down changes nothing, and alternating users keep the old login until the next turn.
struct PostgresRotatorTests {
    @Test(.enabled(if: TestDatabase.runsPostgres, "set COFFER_TEST_POSTGRES_URL to run against PostgreSQL"))
    func postgresRotators() async throws {
        let url = try #require(TestDatabase.postgresURL)
        let suffix = Hex.encode(Random.bytes(4))
        let (single, first, second) = ("rot_app_\(suffix)", "rot_a_\(suffix)", "rot_b_\(suffix)")
        let admin = try PostgresTarget(url: url, user: nil, password: nil)
        for role in [single, first, second] { try admin.execute("CREATE ROLE \(try admin.identifier(role)) LOGIN PASSWORD 'initial-Pw-1'") }
        defer { for role in [single, first, second] { try? admin.execute("DROP ROLE IF EXISTS \(try admin.identifier(role))") } }
        @Sendable func logsIn(_ user: String, _ password: String) -> Bool {
            (try? PostgresTarget(url: url, user: user, password: password).execute("SELECT 1")) != nil
        }
        #expect(logsIn(single, "initial-Pw-1") && !logsIn(single, "wrong"), "the test server checks passwords for these roles")

        try await withUnsealedServer(.sqlite) { server, root in
            try await Application(router: server.makeRouter()).test(.router) { client in
                let runnerPolicy = try String(contentsOfFile: RotationTests.policies + "/rotation-runner.hcl", encoding: .utf8)
                try await client.call("/v1/sys/policies/acl/rotation-runner", .put, token: root, ["policy": runnerPolicy])
                let runner = try await client.createToken(parent: root, ["policies": ["rotation-runner"], "no_default_policy": true]).token
                try await client.call(
                    "/v1/secret/data/db/admin", token: root, ["data": ["connection_url": url, "username": "coffer", "password": ""]])

                // postgres-password: settings checked on write; the rotation changes the role's password.
                try await client.call("/v1/secret/data/db/app", token: root, ["data": ["username": single, "password": "initial-Pw-1"]])
                let (bad, badBody) = try await client.call(
                    "/v1/secret/metadata/db/app", token: root, ["rotation_kind": "postgres-password"])
                #expect(bad == .badRequest && "\(badBody)".contains("admin_secret is required"), "\(badBody)")
                try await client.call(
                    "/v1/secret/metadata/db/app", token: root,
                    ["rotation_kind": "postgres-password", "rotation_settings": ["admin_secret": "secret/db/admin"]])
                #expect(try await client.rotate(runner, "/v1/coffer/rotation/rotate/secret/db/app").map(\.result) == ["rotated"])
                let password = try #require(try await client.kvRead(root, "db/app")["password"]?.string)
                #expect(password.count == 32 && password != "initial-Pw-1")
                #expect(logsIn(single, password), "the new password works")
                #expect(!logsIn(single, "initial-Pw-1"), "the old password is refused")

                // A target that is down: the run fails, current is unchanged, the role keeps its password.
                try await client.call("/v1/secret/data/db/down", token: root, ["data": ["username": single, "password": password]])
                try await client.call(
                    "/v1/secret/metadata/db/down", token: root,
                    [
                        "rotation_kind": "postgres-password",
                        "rotation_settings": [
                            "admin_secret": "secret/db/admin", "connection_url": "postgres://127.0.0.1:1/nothing"
                        ]
                    ])
                let down = try #require(try await client.rotate(runner, "/v1/coffer/rotation/rotate/secret/db/down").first)
                #expect(down.result == "failed" && down.error?.contains("cannot connect") == true, "\(down)")
                #expect(try await client.kvMetadata(root, "db/down").currentVersion == 1)
                #expect(logsIn(single, password), "the current password still works")

                // postgres-alternating: the other role gets a new password and becomes current; the old login
                // keeps working until the next turn changes it.
                try await client.call("/v1/secret/data/db/alt", token: root, ["data": ["username": first, "password": "initial-Pw-1"]])
                try await client.call(
                    "/v1/secret/metadata/db/alt", token: root,
                    [
                        "rotation_kind": "postgres-alternating",
                        "rotation_settings": [
                            "admin_secret": "secret/db/admin", "usernames": [first, second]
                        ]
                    ])
                func current() async throws -> (String, String) {
                    let data = try await client.kvRead(root, "db/alt")
                    return (try #require(data["username"]?.string), try #require(data["password"]?.string))
                }
                try await client.call("/v1/coffer/rotation/rotate/secret/db/alt", token: runner)
                let (userB, passwordB) = try await current()
                #expect(userB == second && logsIn(second, passwordB) && logsIn(first, "initial-Pw-1"))
                try await client.call("/v1/coffer/rotation/rotate/secret/db/alt", token: runner)
                let (userA, passwordA) = try await current()
                #expect(userA == first && logsIn(first, passwordA) && !logsIn(first, "initial-Pw-1") && logsIn(second, passwordB))
            }
        }
    }
}

/// Vault's database secrets engine against the real PostgreSQL: a dynamic credential is a real role that
/// logs in until its lease is revoked (its open session is terminated) or expires and is reaped; renewals
/// stop at the max TTL; bad templates and unknown leases are clear 400s.
struct DynamicCredentialTests {
    @Test(.enabled(if: TestDatabase.runsPostgres, "set COFFER_TEST_POSTGRES_URL to run against PostgreSQL"))
    func dynamicPostgresCredentials() async throws {
        let url = try #require(TestDatabase.postgresURL)
        let templated = url.replacingOccurrences(of: "postgres://coffer@", with: "postgresql://{{username}}:{{password}}@")
        @Sendable func session(_ user: String, _ password: String) -> PostgresTarget? {
            try? PostgresTarget(url: url, user: user, password: password)
        }
        let time = ManualTime()
        try await withUnsealedServer(.sqlite, time: time) { server, root in
            try await Application(router: server.makeRouter()).test(.router) { client in
                #expect(
                    try await client.call(
                        "/v1/database/config/pg", token: root,
                        [
                            "plugin_name": "postgresql-database-plugin", "connection_url": templated, "username": "coffer",
                            "password": "not-needed-by-trust",
                            "allowed_roles": "readonly,short"
                        ]
                    ).0 == .noContent)
                let (_, config) = try await client.call("/v1/database/config/pg", .get, token: root)
                #expect(!"\(config)".contains("not-needed-by-trust") && "\(config)".contains("connection_details"), "\(config)")
                let (badConfig, badConfigBody) = try await client.call(
                    "/v1/database/config/nowhere", token: root,
                    [
                        "plugin_name": "postgresql-database-plugin", "connection_url": "postgres://127.0.0.1:1/x", "username": "u",
                        "password": "p"
                    ])
                #expect(badConfig == .badRequest && "\(badConfigBody)".contains("cannot verify the connection"), "\(badConfigBody)")
                // A password written into the URL is refused (it would be stored as a plain row), and never echoed.
                let inline = url.replacingOccurrences(of: "postgres://coffer@", with: "postgres://coffer:inline-secret@")
                let (inlineStatus, inlineBody) = try await client.call(
                    "/v1/database/config/inline", token: root,
                    [
                        "plugin_name": "postgresql-database-plugin", "connection_url": inline, "username": "coffer", "password": "x"
                    ])
                #expect(inlineStatus == .badRequest && !"\(inlineBody)".contains("inline-secret"), "\(inlineBody)")
                #expect(try await client.call("/v1/database/config/inline", .get, token: root).0 == .notFound)

                let create = #"CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';"#
                let (badRole, badRoleBody) = try await client.call(
                    "/v1/database/roles/readonly", token: root,
                    [
                        "db_name": "pg", "creation_statements": [#"CREATE ROLE "{{name}}" PASSWORD '{{secret}}'"#]
                    ])
                #expect(badRole == .badRequest && "\(badRoleBody)".contains("unknown placeholder {{secret}}"), "\(badRoleBody)")
                #expect(
                    try await client.call(
                        "/v1/database/roles/readonly", token: root,
                        ["db_name": "pg", "creation_statements": [create], "default_ttl": "1h", "max_ttl": "2h"]
                    ).0 == .noContent)

                // Issue: a real role, logging in, under a lease.
                let (status, issued) = try await client.answer(
                    DatabaseAnswer.Credentials.self, "/v1/database/creds/readonly", .get, token: root)
                #expect(status == .ok && issued.leaseDuration == 3600 && issued.renewable == true, "\(issued)")
                let leaseID = try #require(issued.leaseID)
                #expect(leaseID.hasPrefix("database/creds/readonly/"))
                let (user, password) = try #require(issued.data.map { ($0.username, $0.password) })
                let open = try #require(session(user, password), "the credential logs in")
                try open.execute("SELECT 1")
                #expect(session(user, "wrong") == nil)

                // Lookup, renew up to the max TTL, then refuse.
                let (_, lookup) = try await client.answer(
                    DatabaseAnswer.Lease.self, "/v1/sys/leases/lookup", .put, token: root, ["lease_id": leaseID])
                #expect(lookup.data.map { (3500...3600).contains($0.ttl) } == true, "\(lookup)")
                let (_, renewed) = try await client.answer(
                    UnreadData.self, "/v1/sys/leases/renew", .put, token: root, ["lease_id": leaseID, "increment": 3 * 3600])
                #expect(
                    renewed.leaseDuration.map { (7100...7200).contains($0) } == true && renewed.warnings?.isEmpty == false, "\(renewed)")
                let (atMax, atMaxBody) = try await client.call("/v1/sys/leases/renew", .put, token: root, ["lease_id": leaseID])
                #expect(atMax == .badRequest && "\(atMaxBody)".contains("max TTL"), "\(atMaxBody)")

                // Revoke: the open session ends, the login is refused, the lease is gone.
                #expect(try await client.call("/v1/sys/leases/revoke", .put, token: root, ["lease_id": leaseID]).0 == .noContent)
                #expect((try? open.execute("SELECT 1")) == nil, "the open session was terminated")
                #expect(session(user, password) == nil, "the login is refused after revoke")
                let (gone, goneBody) = try await client.call("/v1/sys/leases/lookup", .put, token: root, ["lease_id": leaseID])
                #expect(gone == .badRequest && "\(goneBody)".contains("invalid lease"), "\(goneBody)")

                // Expiry: the reaper revokes expired leases in bounded batches.
                try await client.call(
                    "/v1/database/roles/short", token: root,
                    ["db_name": "pg", "creation_statements": create, "default_ttl": 1, "max_ttl": 1])
                let (_, short) = try await client.answer(DatabaseAnswer.Credentials.self, "/v1/database/creds/short", .get, token: root)
                let shortUser = try #require(short.data?.username)
                time.advance(by: 1.5)
                let reaped = try await server.gate.perform(
                    GateRequest(
                        token: nil, path: "sys/leases/tidy", operation: .delete, access: .open, requestID: "t",
                        remoteAddress: "test"), status: { _ in 200 }
                ) { grant in
                    try await server.databaseEngine.reapExpired(grant, limit: 100)
                }
                #expect(reaped.revoked == 1 && reaped.failed == 0)
                let admin = try PostgresTarget(url: url, user: nil, password: nil)
                #expect(
                    try admin.count("SELECT 1 FROM pg_roles WHERE rolname = \(try admin.literal(shortUser))") == 0,
                    "the expired role is dropped")

                // A target that is down: the reaper fails those revocations, backs each lease off, and goes on.
                try await client.call(
                    "/v1/database/config/down", token: root,
                    [
                        "plugin_name": "postgresql-database-plugin", "connection_url": url, "username": "coffer", "password": "x",
                        "allowed_roles": ["*"]
                    ])
                // The fixture writes its rows as the service would, tags included (rows without them are refused).
                let sealer = try server.keys.sealer()
                let down = DatabaseConnection(
                    name: "down", pluginName: "postgresql-database-plugin", connectionURL: "postgres://127.0.0.1:1/nothing",
                    username: "coffer", allowedRoles: ["*"])
                let downTag = try sealer.tag(DatabaseEngine.authenticated(down))
                try await server.database.transaction { conn in
                    _ = try conn.execute(
                        """
                        UPDATE database_connections
                        SET connection_url = \(down.connectionURL), auth_term = \(downTag.term), auth_tag = \(downTag.tag)
                        WHERE name = 'down'
                        """)
                    for index in 0..<150 {
                        try LeaseReaperTests.insertExpiredLease(
                            id: "database/creds/gone/\(index)", role: "gone", db: "down", username: "v-gone-\(index)", on: conn,
                            sealer: sealer)
                    }
                }
                let system = GateRequest(
                    token: nil, path: "sys/leases/tidy", operation: .delete, access: .open, requestID: "t", remoteAddress: "test")
                let firstBatch = try await server.gate.perform(system, status: { _ in 200 }) { grant in
                    try await server.databaseEngine.reapExpired(grant, limit: 100)
                }
                #expect(firstBatch.revoked == 0 && firstBatch.failed == 100, "a batch is bounded: \(firstBatch)")
                let secondBatch = try await server.gate.perform(system, status: { _ in 200 }) { grant in
                    try await server.databaseEngine.reapExpired(grant, limit: 100)
                }
                #expect(secondBatch.failed == 50, "the failed ones back off; the rest are tried: \(secondBatch)")
                #expect(try await server.databaseEngine.hasExpiredLeases() == false, "every expired lease is backing off")
                let backedOff = try await server.database.read { conn in
                    try conn.queryScalar(
                        Int.self,
                        """
                        SELECT count(*) FROM leases WHERE db_name = 'down' AND revoke_attempts = 1
                        AND next_attempt_at IS NOT NULL AND revoke_error IS NOT NULL
                        """)
                }
                #expect(backedOff == 150)
                try await server.database.transaction { conn in _ = try conn.execute("DELETE FROM leases WHERE db_name = 'down'") }

                // revoke-prefix (sudo) ends every lease of a role.
                for _ in 0..<2 { try await client.call("/v1/database/creds/readonly", .get, token: root) }
                #expect(try await client.call("/v1/sys/leases/revoke-prefix/database/creds/readonly", .put, token: root).0 == .noContent)
                let left = try await server.database.read { conn in try conn.queryScalar(Int.self, "SELECT count(*) FROM leases") }
                #expect(left == 0)
                #expect(
                    try await client.call("/v1/sys/leases/revoke", .put, token: root, ["lease_id": "database/creds/readonly/nope"]).0
                        == .badRequest)

                // Static roles: an existing role's password rotated by Coffer, in Vault's shapes.
                let staticRole = "rot_static_\(Hex.encode(Random.bytes(4)))"
                try admin.execute("CREATE ROLE \(try admin.identifier(staticRole)) LOGIN PASSWORD 'initial-Pw-1'")
                defer { try? admin.execute("DROP ROLE IF EXISTS \(try admin.identifier(staticRole))") }
                // The connection serves only its allowed_roles: a static role outside them is refused, and the
                // target role is untouched.
                let (notAllowed, notAllowedBody) = try await client.call(
                    "/v1/database/static-roles/app", token: root,
                    ["db_name": "pg", "username": staticRole, "rotation_period": "24h"])
                #expect(notAllowed == .badRequest && "\(notAllowedBody)".contains("allowed_roles"), "\(notAllowedBody)")
                #expect(session(staticRole, "initial-Pw-1") != nil, "a refused static role changed the target's password")
                #expect(
                    try await client.call(
                        "/v1/database/config/pg", token: root,
                        [
                            "plugin_name": "postgresql-database-plugin", "connection_url": templated, "username": "coffer",
                            "allowed_roles": "readonly,short,app"
                        ]
                    ).0 == .noContent)
                let (withStatements, withStatementsBody) = try await client.call(
                    "/v1/database/static-roles/app", token: root,
                    [
                        "db_name": "pg", "username": staticRole, "rotation_statements": [#"ALTER ROLE "{{name}}" PASSWORD '{{secret}}'"#]
                    ])
                #expect(
                    withStatements == .badRequest && "\(withStatementsBody)".contains("rotation_statements know only"),
                    "\(withStatementsBody)")
                #expect(
                    try await client.call(
                        "/v1/database/static-roles/app", token: root,
                        ["db_name": "pg", "username": staticRole, "rotation_period": "24h"]
                    ).0 == .noContent)
                #expect(session(staticRole, "initial-Pw-1") == nil, "creating the static role rotated the password at once")
                func staticCreds() async throws -> DatabaseAnswer.Credentials {
                    let (_, body) = try await client.answer(
                        DatabaseAnswer.Credentials.self, "/v1/database/static-creds/app", .get, token: root)
                    return try #require(body.data, "\(body.errors ?? [])")
                }
                let firstCreds = try await staticCreds()
                let firstPassword = firstCreds.password
                #expect(firstCreds.username == staticRole && firstCreds.rotationPeriod == 86_400)
                #expect(session(staticRole, firstPassword) != nil)
                #expect(try await client.call("/v1/database/rotate-role/app", token: root).0 == .noContent)
                let secondPassword = try await staticCreds().password
                #expect(
                    secondPassword != firstPassword && session(staticRole, secondPassword) != nil
                        && session(staticRole, firstPassword) == nil)
                let (_, roleBody) = try await client.answer(
                    DatabaseAnswer.StaticRole.self, "/v1/database/static-roles/app", .get, token: root)
                let role = try #require(roleBody.data, "\(roleBody.errors ?? [])")
                #expect(role.username == staticRole && role.dbName == "pg" && !role.lastVaultRotation.isEmpty, "\(role)")
                let (_, listBody) = try await client.answer(KV.Keys.self, "/v1/database/static-roles", GatedRouter.list, token: root)
                #expect(listBody.data?.keys == ["app"])
                let (other, otherBody) = try await client.call(
                    "/v1/database/static-roles/app", token: root, ["db_name": "pg", "username": "someone_else"])
                #expect(other == .badRequest && "\(otherBody)".contains("delete it to manage another role"), "\(otherBody)")
            }
        }
    }
}
